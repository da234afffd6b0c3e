import { availableParallelism } from 'node:os';

/** Runs the tasks given to it at most `slots` at a time, in the order given. */
export function pool(slots: number): <T>(task: () => Promise<T>) => Promise<T> {
  let free = slots;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/**
 * For tests that run independent CPU-bound processes (CLI runs, promtool) side by side: one at a
 * time per core, so that the cores a single process leaves idle are used. npm test runs two
 * files at once, so these processes may also share the cores with another file's work: none of
 * them is held to a time limit that a run at half speed would miss.
 */
export const onCore = pool(availableParallelism());

/**
 * The time limit of one such process: a guard against a hang, not a check of speed. Two test
 * files at once, or other work on the machine, can slow a run that takes seconds alone several
 * times over, and a limit a few times its quiet time made those runs fail on a busy host.
 */
export const HANG_GUARD_MS = 600_000;
