import { readFile } from 'node:fs/promises';
import { repoPath } from '../../bench/drill/repo.js';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}
export interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: Instruction[];
}
export interface ParsedDockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: Map<string, string>;
  readonly stages: Stage[];
}

export const readDockerfile = (): Promise<string> => readFile(repoPath('Dockerfile'), 'utf8');

/** Joins continuation lines and drops comments: one entry per instruction. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const [keyword = ''] = full.split(/\s+/);
    out.push({ keyword: keyword.toUpperCase(), args: full.slice(keyword.length).trim(), line: start });
  });
  return out;
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (match === null) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ base: match[1] as string, name: match[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name = '', value = ''] = ins.args.split('=');
      globalArgs.set(name, value);
    } else {
      stages[stages.length - 1]?.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/**
 * .dockerignore semantics for the patterns this repository uses: `name`, `dir/name`,
 * `*` within one path segment, `!` to re-include; a matched directory excludes everything
 * below it; the last matching pattern wins.
 */
export function isIgnored(patterns: readonly string[], file: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const source = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
    if (new RegExp(`^${source}(/.*)?$`).test(file)) ignored = !negated;
  }
  return ignored;
}

export function dockerignorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
