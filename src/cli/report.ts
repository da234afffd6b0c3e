import type { Command } from 'commander';

/**
 * One error format for every `awnet` command: `awnet <command>: <message> [CODE]` on stderr,
 * exit code 1. Known failures (bad options, data, checkpoints, output) carry a stable
 * upper-case code and read best as that one line; anything else is a bug and keeps its stack.
 */
export const USAGE_ERROR_CODE = 'CLI_BAD_USAGE';

export function errorLine(command: string, message: string, code?: string): string {
  return `awnet${command === '' ? '' : ` ${command}`}: ${message}${code === undefined ? '' : ` [${code}]`}`;
}

/** The stable code of a known failure, or undefined for anything else. */
export function knownCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : undefined;
}

export function reportError(command: string, err: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): void {
  const code = knownCode(err);
  const message = code !== undefined ? (err as Error).message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  write(`${errorLine(command, message, code)}\n`);
  process.exitCode = 1;
}

/** Wraps a command's action so that whatever it throws is reported in the one format. */
export function action<A extends unknown[]>(command: string, run: (...args: A) => Promise<void>, cleanup?: () => void): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await run(...args);
    } catch (err) {
      cleanup?.();
      reportError(command, err);
    }
  };
}

/**
 * Commander's own errors (a bad or missing option value, an unknown option) in the same
 * format: "error: option '--epochs <n>' argument '' is invalid. …" becomes
 * "awnet train: option '--epochs <n>' argument '' is invalid. … [CLI_BAD_USAGE]".
 */
export function useErrorFormat(program: Command): void {
  const configure = (cmd: Command, name: string): void => {
    cmd.configureOutput({
      outputError: (text, write) => write(`${errorLine(name, text.replace(/^error: /, '').trimEnd(), USAGE_ERROR_CODE)}\n`),
    });
  };
  configure(program, '');
  for (const cmd of program.commands) configure(cmd, cmd.name());
}
