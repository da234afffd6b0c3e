import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../src/server/repo-root.js';

/** The README as a newcomer reads it. */
export const README = readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');

/** The command of the README's pipeline table row `step`, exactly as written. */
export function tableCommand(step: string): string {
  const row = new RegExp(`^\\| ${step} \\| \`([^\`]+)\``, 'm').exec(README);
  if (!row) throw new Error(`README.md has no pipeline row '${step}'`);
  return row[1]!;
}

/** The line of a README shell block that starts with `prefix`, without its trailing comment. */
export function shellLine(prefix: string): string {
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
  const line = blocks.find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`README.md has no shell line starting with ${prefix}`);
  return line.replace(/\s+#.*$/, '').trim();
}

/**
 * A folder that looks like the checkout after `npm ci && npm run build` (package.json, dist,
 * node_modules, docs), but whose runs/ and models/ are its own, so the README's commands can
 * run there as written without touching the repository.
 */
export function scratchCheckout(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'awnet-readme-'));
  for (const shared of ['dist', 'node_modules', 'docs']) symlinkSync(path.join(repoRoot(), shared), path.join(dir, shared));
  // npm reads a project's settings from an .npmrc beside package.json.
  for (const file of ['package.json', '.npmrc']) if (existsSync(path.join(repoRoot(), file))) copyFileSync(path.join(repoRoot(), file), path.join(dir, file));
  mkdirSync(path.join(dir, 'models'));
  return dir;
}

export interface Shell {
  readonly child: ChildProcess;
  output(): string;
  /** Settles with the exit code (or the signal's name) when the command ends. */
  readonly exited: Promise<number | string>;
}

/** Runs a README line with sh, as a terminal would; npm and node are this test's own. */
export function shell(command: string, cwd: string, env: Record<string, string> = {}): Shell {
  // `VAR=value cmd` as a terminal runs it, with the command exec'd so that a signal reaches it.
  const [, assignments = '', rest = ''] = /^((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)([\s\S]*)$/.exec(command) ?? [];
  const given = Object.fromEntries(assignments.trim().split(/\s+/).filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  const child = spawn('sh', ['-c', `exec ${rest}`], {
    cwd,
    env: { ...process.env, ...env, ...given, PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, AWNET_TF_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  // 'exit', not 'close': a server orphaned by a signal would hold the pipes open for ever.
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => text, exited };
}

/**
 * Waits for a server the shell started to listen; returns its address as host:port. The
 * service listens twice, inference first, then admin (/metrics): `which` picks one.
 */
export async function listening(server: Shell, timeoutMs = 60_000, which: 'inference' | 'admin' = 'inference'): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const matches = [...server.output().matchAll(/Server listening at http:\/\/(127\.0\.0\.1:\d+)/g)];
    const match = matches[which === 'inference' ? 0 : 1];
    if (match) return match[1]!;
    if (server.child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The PID the service logs with every line (the node process behind npm). */
export function servicePid(output: string): number {
  const match = /"pid":(\d+)/.exec(output);
  if (!match) throw new Error(`no pid in the service log:\n${output}`);
  return Number(match[1]);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
