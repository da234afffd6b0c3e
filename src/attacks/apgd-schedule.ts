/**
 * The step-size schedule of APGD (Croce & Hein, "Reliable evaluation of adversarial
 * robustness with an ensemble of diverse parameter-free attacks", ICML 2020, §3.2), as pure
 * functions so that it can be tested without a model.
 *
 * The step size starts at 2ε and is halved, per image, only at checkpoints w_j = ⌈p_j·N⌉ with
 *   p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06),
 * when either
 *   1. the objective rose on fewer than ρ·(w_j − w_{j−1}) of the steps since the last
 *      checkpoint (ρ = 0.75): the iterates oscillate, or
 *   2. the step size was not halved at the last checkpoint and the best objective has not
 *      improved since then: the step is too large to make progress.
 * When it is halved the iterate restarts from the best point found so far.
 */

/** ρ of condition 1. */
export const APGD_RHO = 0.75;
/** The weight α of the new step against the previous one ("momentum"), from the second step on. */
export const APGD_ALPHA = 0.75;

/**
 * The checkpoints of an N-iteration run: the iteration counts w_j = ⌈p_j·N⌉ (j ≥ 1, p_j ≤ 1)
 * after which the step size is checked, increasing and distinct, each in [1, N]. For N = 100:
 * 22, 41, 57, 70, 80, 87, 93, 99.
 */
export function apgdCheckpoints(nIter: number): number[] {
  const out: number[] = [];
  let before = 0;
  let p = 0.22;
  while (p <= 1) {
    // The tolerance keeps 0.22 · 100 at 22 despite rounding (22.000000000000004).
    const w = Math.max(Math.ceil(p * nIter - 1e-9), 1);
    if (w > (out.at(-1) ?? 0) && w <= nIter) out.push(w);
    // Rounded so that the sums stay the paper's two-decimal fractions.
    const next = Math.round((p + Math.max(p - before - 0.03, 0.06)) * 1e6) / 1e6;
    before = p;
    p = next;
  }
  return out;
}

/** Steps of the period ending at a checkpoint on which the objective went up. */
export function countIncreases(objective: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < objective.length; i++) if ((objective[i] as number) > (objective[i - 1] as number)) n++;
  return n;
}

export interface CheckpointState {
  /** The objective at every iterate of the period: f(x^{w_{j−1}}) … f(x^{w_j}), w_j − w_{j−1} + 1 values. */
  readonly objective: readonly number[];
  /** Whether the step size was halved at the previous checkpoint (false at the first one). */
  readonly halvedLast: boolean;
  /** The best objective seen up to the previous checkpoint, and up to this one. */
  readonly bestAtLast: number;
  readonly bestNow: number;
  readonly rho?: number;
}

/** Whether to halve the step size (and restart from the best point) at a checkpoint. */
export function shouldHalve(state: CheckpointState): boolean {
  const steps = state.objective.length - 1;
  const oscillates = countIncreases(state.objective) < (state.rho ?? APGD_RHO) * steps;
  const stalled = !state.halvedLast && state.bestNow <= state.bestAtLast;
  return oscillates || stalled;
}
