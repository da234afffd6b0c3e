/** Learning-rate schedules, as a pure function of training progress. */
export type LrScheduleName = 'cosine' | 'step' | 'constant' | 'one-cycle' | 'linear-decay';

export const LR_SCHEDULES: readonly LrScheduleName[] = ['cosine', 'step', 'constant', 'one-cycle', 'linear-decay'];

/** Where the one-cycle schedule peaks, as a fraction of training (Wong, Rice & Kolter's 2/5). */
export const ONE_CYCLE_PEAK = 0.4;

export interface LrSchedule {
  readonly name: LrScheduleName;
  readonly baseLr: number;
  readonly totalSteps: number;
  /** Linear warm-up from baseLr/10 over this many steps. */
  readonly warmupSteps: number;
  /** `step`: multiply by `gamma` at these fractions of training (e.g. 0.5 and 0.75). */
  readonly milestones: readonly number[];
  readonly gamma: number;
}

/** The learning rate for global step `step` (0-based). */
export function learningRate(schedule: LrSchedule, step: number): number {
  const { baseLr, totalSteps, warmupSteps } = schedule;
  if (warmupSteps > 0 && step < warmupSteps) {
    return baseLr * (0.1 + (0.9 * step) / warmupSteps);
  }
  const progress = totalSteps > 0 ? Math.min(1, step / totalSteps) : 0;
  switch (schedule.name) {
    case 'constant':
      return baseLr;
    case 'cosine': {
      const span = Math.max(1, totalSteps - warmupSteps);
      const t = Math.min(1, Math.max(0, (step - warmupSteps) / span));
      return 0.5 * baseLr * (1 + Math.cos(Math.PI * t));
    }
    case 'one-cycle':
      // Linear from 0 up to the peak, then linearly down to 0 at the last step.
      return progress < ONE_CYCLE_PEAK ? (baseLr * progress) / ONE_CYCLE_PEAK : (baseLr * (1 - progress)) / (1 - ONE_CYCLE_PEAK);
    case 'linear-decay':
      return baseLr * (1 - progress);
    case 'step': {
      const passed = schedule.milestones.filter((m) => progress >= m).length;
      return baseLr * schedule.gamma ** passed;
    }
  }
}
