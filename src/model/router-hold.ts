import { ModelError } from './errors.js';
import { holdProblems } from './presets.js';
import type { ArchConfig, RouterHold } from './types.js';

/** The hold a model without one has: the router steers MixBN and ω as far as it likes. */
export const FREE_HOLD: RouterHold = Object.freeze({ pCleanCap: 1, omegaBound: null });

/** A change to a recorded hold; a field left out keeps the recorded value. */
export interface HoldChange {
  readonly pCleanCap?: number;
  readonly omegaBound?: number | null;
}

/** The hold a configuration records, or the free hold. */
export function holdOf(config: Pick<ArchConfig, 'hold'>): RouterHold {
  return config.hold ?? FREE_HOLD;
}

/** `change` applied to the hold `config` records, checked against its variant. */
export function changedHold(config: Pick<ArchConfig, 'hold' | 'variant'>, change: HoldChange): RouterHold {
  const recorded = holdOf(config);
  const hold: RouterHold = {
    pCleanCap: change.pCleanCap ?? recorded.pCleanCap,
    omegaBound: change.omegaBound === undefined ? recorded.omegaBound : change.omegaBound,
  };
  const problems = holdProblems(hold, config.variant);
  if (problems.length > 0) throw new ModelError('MODEL_BAD_CONFIG', problems.join('; '));
  return Object.freeze(hold);
}

/** Whether a hold changes anything at inference. */
export function isFree(hold: RouterHold): boolean {
  return hold.pCleanCap >= 1 && hold.omegaBound === null;
}

/** Whether two holds are the same setting. */
export function sameHold(a: RouterHold, b: RouterHold): boolean {
  return a.pCleanCap === b.pCleanCap && a.omegaBound === b.omegaBound;
}

/** A short label such as `cap0.5` or `cap0.5,omega0.3`; `free` for the free hold. */
export function holdLabel(hold: RouterHold): string {
  const parts = [
    ...(hold.pCleanCap < 1 ? [`cap${hold.pCleanCap}`] : []),
    ...(hold.omegaBound !== null ? [`omega${hold.omegaBound}`] : []),
  ];
  return parts.length > 0 ? parts.join(',') : 'free';
}
