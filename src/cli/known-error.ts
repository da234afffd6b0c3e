/**
 * Known failures (bad options, data, checkpoints, output) carry a stable upper-case code:
 * print them as one clear line with no stack and set exit code 1. Returns false for anything
 * else, which the caller rethrows so that real bugs keep their stack.
 */
export function reportKnownError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (!(err instanceof Error) || typeof code !== 'string' || !/^[A-Z][A-Z0-9_]+$/.test(code)) return false;
  process.stderr.write(`error [${code}]: ${err.message}\n`);
  process.exitCode = 1;
  return true;
}
