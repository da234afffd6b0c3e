import { readCheckpointMeta } from '../model/checkpoint.js';
import { variantFeatures } from '../model/architecture.js';
import { changedHold, holdLabel, holdOf, type HoldChange } from '../model/router-hold.js';
import type { RouterHold } from '../model/types.js';
import { EvalError } from './errors.js';

/** One model of an evaluation: a checkpoint under one router hold, and its display name. */
export interface EvalEntry {
  /** Position of its checkpoint on the command line. */
  readonly index: number;
  readonly checkpoint: string;
  readonly name: string;
  readonly hold: RouterHold;
}

/**
 * Each checkpoint once under the hold it records, or, with `changes`, once per change
 * (named `<name>@<hold>`, e.g. `awnet@cap0.5`), so that one run compares holds on the same
 * images and random starts. A checkpoint without a router has no hold to change and runs once.
 */
export async function evaluationEntries(
  checkpoints: readonly string[],
  names: readonly string[],
  changes: readonly HoldChange[] | undefined,
): Promise<EvalEntry[]> {
  const entries: EvalEntry[] = [];
  for (const [i, checkpoint] of checkpoints.entries()) {
    const { config } = await readCheckpointMeta(checkpoint);
    const name = names[i] ?? checkpoint;
    if (changes === undefined || changes.length === 0 || !variantFeatures(config.variant).router) {
      entries.push({ index: i, checkpoint, name, hold: holdOf(config) });
      continue;
    }
    for (const change of changes) {
      let hold: RouterHold;
      try {
        hold = changedHold(config, change);
      } catch (err) {
        throw new EvalError('EVAL_BAD_OPTION', `${checkpoint} (${config.variant}): ${(err as Error).message}`);
      }
      entries.push({ index: i, checkpoint, name: `${name}@${holdLabel(hold)}`, hold });
    }
  }
  return entries;
}

/** Every combination of the caps and bounds given (a list left out keeps the recorded value). */
export function holdChanges(caps: readonly number[] | undefined, bounds: readonly (number | null)[] | undefined): HoldChange[] | undefined {
  if (caps === undefined && bounds === undefined) return undefined;
  const capList: readonly (number | undefined)[] = caps ?? [undefined];
  const boundList: readonly (number | null | undefined)[] = bounds ?? [undefined];
  return capList.flatMap((pCleanCap) =>
    boundList.map((omegaBound) => ({
      ...(pCleanCap !== undefined ? { pCleanCap } : {}),
      ...(omegaBound !== undefined ? { omegaBound } : {}),
    })),
  );
}
