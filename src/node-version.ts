import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './server/repo-root.js';

type Version = readonly [number, number, number];

function parse(text: string): Version | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

/** The lowest version a package.json `engines.node` range of the form `>=X[.Y[.Z]]` admits. */
export function minimumVersion(range: string): Version {
  const lowest = range.trim().startsWith('>=') ? parse(range.trim().slice(2)) : undefined;
  if (!lowest) throw new Error(`package.json engines.node '${range}' is not of the form >=X[.Y[.Z]]`);
  return lowest;
}

/**
 * Why `running` (process.versions.node) cannot run the project, in one line that says how
 * to get the right Node, or undefined when it can.
 */
export function nodeVersionProblem(running: string, range: string, execPath: string): string | undefined {
  const have = parse(running);
  const want = minimumVersion(range);
  if (!have) throw new Error(`'${running}' is not a Node.js version`);
  const older = have[0] !== want[0] ? have[0] < want[0] : have[1] !== want[1] ? have[1] < want[1] : have[2] < want[2];
  if (!older) return undefined;
  return (
    `needs Node.js ${range} (package.json engines) but runs on v${running} (${execPath}); ` +
    `in the project folder, put the right one first on PATH: export PATH="$(bash scripts/node-lts.sh):$PATH"`
  );
}

/**
 * Stops the process with that line on a Node older than package.json allows. The entry
 * points call it before importing anything else: an older Node may fail to load the rest
 * with an error that does not say the version is the cause.
 */
export function refuseOldNode(program: string): void {
  // repo-root.ts needs only Node's built-ins, so it loads on any Node old enough to be told.
  const pkg = JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { engines: { node: string } };
  const problem = nodeVersionProblem(process.versions.node, pkg.engines.node, process.execPath);
  if (problem === undefined) return;
  process.stderr.write(`${program}: ${problem}\n`);
  process.exit(1);
}
