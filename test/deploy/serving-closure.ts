import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repoPath } from '../../bench/drill/repo.js';

/** What the service's process loads: its entry point and the inference worker's file. */
export const SERVING_ENTRIES = ['src/main.ts', 'src/server/inference/inference-worker.ts'];

const packageOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/**
 * The packages the service imports, following the sources' relative imports from the
 * serving entry points (static imports, re-exports and dynamic import() alike).
 */
export function servingImports(): { packages: Set<string>; files: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = SERVING_ENTRIES.map((f) => repoPath(f));
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (fileName.startsWith('.')) pending.push(path.resolve(path.dirname(file), fileName.replace(/\.js$/, '.ts')));
      else if (!fileName.startsWith('node:')) packages.add(packageOf(fileName));
    }
  }
  return { packages, files };
}

interface PackageJson {
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  scripts?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
  optionalDependencies?: Record<string, string>;
}

export const readPackageJson = (): PackageJson => JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as PackageJson;
