import { planBudget, estimateValidationSeconds, type BudgetPlan } from './budget.js';
import type { TrainData, TrainerState } from './run-setup.js';
import type { TrainSettings } from './settings.js';

/** Steps timed before the first plan (the first step of a session, with its warm-up, is left out). */
const CALIBRATION_STEPS = 4;
/** Re-plan from the measured step time this often, so a slower or faster machine is followed. */
const REPLAN_EVERY = 25;
/** Steps whose mean step time can override the longer mean when it is higher. */
const RECENT_STEPS = 10;
/** Share of adversarially correct images assumed to reach the adaptive attacks before one validation has run. */
const ASSUMED_SURVIVORS = 0.6;

/**
 * The time-budget side of a run: measures step and validation time, plans the run's steps with
 * planBudget, re-plans as measurements come in, and stops the run early if it must to end in
 * time. All times are wall-clock seconds of the whole run (every session of a resumed run).
 */
export class RunBudget {
  readonly budgetSeconds: number;
  private plan: BudgetPlan | null = null;
  private readonly stepTimes: number[] = [];
  private validationSeconds: number | null;
  firstPlanSeconds: number | null;
  totalSteps: number;

  constructor(
    private readonly settings: TrainSettings,
    private readonly data: TrainData,
    state: TrainerState,
    private readonly log: (line: string) => void,
  ) {
    this.budgetSeconds = settings.timeBudgetMinutes! * 60;
    this.validationSeconds = state.validationSeconds;
    this.firstPlanSeconds = state.firstPlanSeconds;
    // Until the first plan, the schedule spans the epoch cap (the first steps of a one-cycle
    // or warm-up schedule run at a tiny learning rate either way).
    this.totalSteps = state.plannedSteps ?? settings.epochs * data.steps;
  }

  leftSeconds(spent: number): number {
    return this.budgetSeconds - spent;
  }

  /**
   * The step time plans use: the mean of the last 100 steps, or of the last 10 when that is
   * higher, so a slowdown shortens the plan within a few steps while a single fast stretch
   * does not lengthen it.
   */
  private stepSeconds(): number {
    // The first step (with its warm-up) is never timed; only the last 100 are read.
    const timed = this.stepTimes.slice(Math.max(1, this.stepTimes.length - 4 * REPLAN_EVERY));
    const mean = (xs: number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;
    return Math.max(mean(timed), mean(timed.slice(-RECENT_STEPS)));
  }

  private validationEstimate(): number {
    if (this.validationSeconds !== null) return this.validationSeconds;
    const s = this.settings;
    const attackSteps = s.attackSteps;
    // A step makes the adversarial rows (attackSteps passes over the batch) and trains on twice
    // the batch (≈ 3 passes per row with the weight gradients), spread over the workers;
    // validation runs on one thread.
    const passSecondsPerImage = (this.stepSeconds() * s.workers) / (this.data.batchSize * (attackSteps + 3));
    // The Square Attack's queries are forward passes only (a third of a training pass each), but
    // at 300 queries per surviving image they outweigh every gradient attack together.
    const squarePasses = (ASSUMED_SURVIVORS * s.valSquareQueries) / 3;
    const passesPerAttacked = 2 + (s.valAttackSteps + 1) + ASSUMED_SURVIVORS * s.valAdaptiveLambdas.length * (s.valAttackSteps + 1) + 2 + squarePasses;
    return estimateValidationSeconds({
      passSecondsPerImage,
      cleanImages: this.data.val.length,
      attackedImages: this.data.pgdVal.length,
      passesPerAttacked,
      saveSeconds: 2,
    });
  }

  private replan(state: TrainerState, spent: number): number {
    const plan = planBudget({
      budgetSeconds: this.budgetSeconds,
      spentSeconds: spent,
      stepSeconds: this.stepSeconds(),
      validationSeconds: this.validationEstimate(),
      stepsPerEpoch: this.data.steps,
      doneSteps: state.globalStep,
      doneValidations: state.epoch,
      maxSteps: this.settings.epochs * this.data.steps,
    });
    if (this.plan === null) {
      this.log(
        `time budget ${this.settings.timeBudgetMinutes} min: planned ${plan.totalSteps} steps (${(plan.totalSteps / this.data.steps).toFixed(2)} epochs, ` +
          `${plan.validations} validations) at ${this.stepSeconds().toFixed(2)} s/step and ≈${this.validationEstimate().toFixed(0)} s per validation; ` +
          `ends after ${(plan.plannedSeconds / 60).toFixed(1)} min${plan.cappedByEpochs ? ` (capped by --epochs ${this.settings.epochs})` : ''}`,
      );
      this.firstPlanSeconds ??= plan.plannedSeconds;
    }
    this.plan = plan;
    this.totalSteps = plan.totalSteps;
    return plan.totalSteps;
  }

  /** Records a step's time; returns the (possibly re-planned) total steps. */
  afterStep(seconds: number, state: TrainerState, spent: number): number {
    this.stepTimes.push(seconds);
    const timed = this.stepTimes.length - 1;
    if (timed < CALIBRATION_STEPS) return this.totalSteps;
    // In the plan's last REPLAN_EVERY steps re-plan at every step: a slowdown there would
    // otherwise be caught only by the stop below, after steps at a mid-schedule learning rate.
    const planBefore = this.totalSteps;
    const finalStretch = planBefore - state.globalStep <= REPLAN_EVERY;
    if (this.plan === null || timed % REPLAN_EVERY === 0 || finalStretch) this.replan(state, spent);
    // Whatever the plan says, stop in time for the last validation.
    if (spent + this.stepSeconds() + this.validationEstimate() > this.budgetSeconds) this.totalSteps = Math.min(this.totalSteps, state.globalStep);
    // A slowdown too sudden for the re-plans ends the run before its schedule does (at a learning
    // rate above the schedule's end): say so, since the run's last epoch is then a short one.
    if (this.totalSteps <= state.globalStep && planBefore > state.globalStep + 1) {
      this.log(`time budget: stopping at step ${state.globalStep} of ${planBefore} planned to leave time for the last validation`);
    }
    return this.totalSteps;
  }

  /** Records a validation's time (checkpoint saves included) and re-plans. */
  afterValidation(seconds: number, state: TrainerState, spent: number): number {
    this.validationSeconds = seconds;
    if (this.stepTimes.length <= 1) return this.totalSteps;
    if (state.globalStep >= this.totalSteps) return this.totalSteps;
    return this.replan(state, spent);
  }
}
