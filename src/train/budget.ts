/**
 * Plans a training run that must end, validation and checkpoints included, within a
 * wall-clock budget. The plan is a number of steps: the learning-rate schedule runs over
 * exactly those steps, so a run stopped by its budget still ends its schedule (one-cycle and
 * linear decay reach 0 at the last step) instead of being cut off mid-schedule. Each epoch
 * ends with a validation and the run's last (possibly partial) epoch too.
 *
 * Planning is pure arithmetic on measured costs; the trainer measures them (step time over the
 * first steps, validation time once one has run) and re-plans at each epoch end, every 25
 * steps and at every step of the plan's last 25, never below the steps already taken.
 */
export interface BudgetInputs {
  /** The whole budget, in seconds. */
  readonly budgetSeconds: number;
  /** Seconds of the budget already spent (set-up, steps, validations, checkpoints). */
  readonly spentSeconds: number;
  /** Measured seconds per training step. */
  readonly stepSeconds: number;
  /** Seconds one validation (with its checkpoint saves) is expected to take. */
  readonly validationSeconds: number;
  readonly stepsPerEpoch: number;
  /** Steps already taken. */
  readonly doneSteps: number;
  /** Validations already run (one per finished epoch). */
  readonly doneValidations: number;
  /** Upper bound on the plan (the --epochs cap, in steps). */
  readonly maxSteps: number;
  /** Seconds kept back for writing the summary and closing worker threads. */
  readonly reserveSeconds?: number;
}

export interface BudgetPlan {
  readonly totalSteps: number;
  readonly epochs: number;
  /** Validations the plan runs in all (finished ones included). */
  readonly validations: number;
  /** Seconds the whole run takes by this plan (spent ones included). */
  readonly plannedSeconds: number;
  /** True when the epoch cap, not the budget, limits the plan. */
  readonly cappedByEpochs: boolean;
}

export const DEFAULT_RESERVE_SECONDS = 10;

function validationsFor(steps: number, stepsPerEpoch: number): number {
  return Math.ceil(steps / stepsPerEpoch);
}

/** Seconds the run takes in all if it plans `steps` steps. */
export function plannedSeconds(inputs: BudgetInputs, steps: number): number {
  const reserve = inputs.reserveSeconds ?? DEFAULT_RESERVE_SECONDS;
  const newSteps = Math.max(0, steps - inputs.doneSteps);
  // A run stopped inside an epoch validates where it stopped, so a partial epoch counts.
  const newValidations = Math.max(0, validationsFor(steps, inputs.stepsPerEpoch) - inputs.doneValidations);
  return inputs.spentSeconds + newSteps * inputs.stepSeconds + newValidations * inputs.validationSeconds + reserve;
}

/** The most steps (at least those already done) that fit the budget. */
export function planBudget(inputs: BudgetInputs): BudgetPlan {
  const { stepsPerEpoch, doneSteps, maxSteps, budgetSeconds } = inputs;
  if (!(inputs.stepSeconds > 0) || !(stepsPerEpoch > 0)) throw new RangeError('planBudget needs a positive step time and epoch length');
  const fits = (steps: number): boolean => plannedSeconds(inputs, steps) <= budgetSeconds;
  // plannedSeconds grows with steps, so the largest fitting count is found by bisection.
  let lo = doneSteps;
  let hi = Math.max(doneSteps, maxSteps);
  if (fits(hi)) lo = hi;
  else {
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
  }
  const totalSteps = Math.max(lo, Math.min(1, maxSteps));
  return {
    totalSteps,
    epochs: validationsFor(totalSteps, stepsPerEpoch),
    validations: validationsFor(totalSteps, stepsPerEpoch),
    plannedSeconds: plannedSeconds(inputs, totalSteps),
    cappedByEpochs: totalSteps >= maxSteps && fits(maxSteps),
  };
}

/**
 * A first guess of one validation's cost before any has run, from the measured cost of one
 * attack pass (forward and input gradient) per image: clean images cost a forward (≈ a third
 * of a pass), attacked images `passesPerAttacked` passes.
 */
export function estimateValidationSeconds(args: {
  readonly passSecondsPerImage: number;
  readonly cleanImages: number;
  readonly attackedImages: number;
  readonly passesPerAttacked: number;
  readonly saveSeconds: number;
}): number {
  return args.passSecondsPerImage * (args.cleanImages / 3 + args.attackedImages * args.passesPerAttacked) + args.saveSeconds;
}
