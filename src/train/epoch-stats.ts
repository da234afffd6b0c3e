import type { StepFigures } from './train-step.js';
import type { ValidationFigures } from './validate.js';

/** Running sums over the steps of the current epoch (kept in checkpoints for mid-epoch resume). */
export interface EpochSums extends StepFigures {
  readonly steps: number;
  readonly trainSeconds: number;
}

/** One line of `log.jsonl`: the figures of one finished epoch. */
export interface EpochRecord {
  readonly epoch: number;
  readonly epochs: number;
  readonly steps: number;
  readonly trainLoss: number;
  readonly trainLossType: number;
  readonly trainLossNat: number;
  readonly trainLossAdv: number;
  readonly trainCleanAcc: number;
  readonly trainAdvAcc: number;
  readonly trainRouterAcc: number | null;
  readonly valCleanAcc: number | null;
  readonly valPgdAcc: number | null;
  readonly valFgsmAcc: number | null;
  /** Per image, the worst case over PGD, the adaptive attacks and the Square Attack (when run). */
  readonly valWorstAcc: number | null;
  /** Validation images the Square Attack took from the worst case; null when it did not run. */
  readonly valSquareFooled: number | null;
  /** (clean + worst-case accuracy) / 2: what picks the best checkpoint. */
  readonly valWRobust: number | null;
  readonly valRouterAcc: number | null;
  readonly valSize: number;
  readonly valPgdSize: number;
  /** The learning rate of the epoch's last step. */
  readonly lr: number;
  readonly alphaNat: number;
  readonly alphaAdv: number;
  /** Clean training images per second of training-step time (validation excluded). */
  readonly imagesPerSecond: number;
  readonly trainSeconds: number;
  readonly valSeconds: number;
  /** Step of this epoch at which this session resumed it, or null. */
  readonly resumedAtStep: number | null;
  /** This epoch's checkpoint is the best so far (saved as checkpoints/best). */
  readonly best: boolean;
  readonly catastrophicOverfitting: boolean;
  /** The validation worst case fell more than 20 points below its best (robustnessCollapse). */
  readonly robustnessCollapse: boolean;
  /** Seconds of the time budget left after this epoch; null without one. */
  readonly budgetLeftSeconds: number | null;
  readonly time: string;
}

export const ZERO_SUMS: EpochSums = {
  loss: 0,
  lossType: 0,
  lossNat: 0,
  lossAdv: 0,
  correctClean: 0,
  correctAdv: 0,
  typeCorrect: 0,
  count: 0,
  steps: 0,
  trainSeconds: 0,
};

export function accumulate(sums: EpochSums, f: StepFigures, seconds: number): EpochSums {
  return {
    loss: sums.loss + f.loss,
    lossType: sums.lossType + f.lossType,
    lossNat: sums.lossNat + f.lossNat,
    lossAdv: sums.lossAdv + f.lossAdv,
    correctClean: sums.correctClean + f.correctClean,
    correctAdv: sums.correctAdv + f.correctAdv,
    typeCorrect: sums.typeCorrect + f.typeCorrect,
    count: sums.count + f.count,
    steps: sums.steps + 1,
    trainSeconds: sums.trainSeconds + seconds,
  };
}

export function epochRecord(args: {
  readonly epoch: number;
  readonly epochs: number;
  readonly sums: EpochSums;
  readonly hasRouter: boolean;
  readonly val: ValidationFigures;
  readonly valSeconds: number;
  readonly lr: number;
  readonly alpha: { readonly alphaNat: number; readonly alphaAdv: number };
  readonly resumedAtStep: number | null;
  readonly best?: boolean;
  readonly catastrophicOverfitting?: boolean;
  readonly robustnessCollapse?: boolean;
  readonly budgetLeftSeconds?: number | null;
}): EpochRecord {
  const { sums, val } = args;
  return {
    epoch: args.epoch,
    epochs: args.epochs,
    steps: sums.steps,
    trainLoss: sums.loss / sums.steps,
    trainLossType: sums.lossType / sums.steps,
    trainLossNat: sums.lossNat / sums.steps,
    trainLossAdv: sums.lossAdv / sums.steps,
    trainCleanAcc: sums.correctClean / sums.count,
    trainAdvAcc: sums.correctAdv / sums.count,
    trainRouterAcc: args.hasRouter ? sums.typeCorrect / (2 * sums.count) : null,
    valCleanAcc: val.cleanCount > 0 ? val.cleanAcc : null,
    valPgdAcc: val.pgdAcc,
    valFgsmAcc: val.fgsmAcc,
    valWorstAcc: val.worstAcc,
    valSquareFooled: val.squareFooled,
    valWRobust: val.wRobust,
    valRouterAcc: val.routerAcc,
    valSize: val.cleanCount,
    valPgdSize: val.pgdCount,
    lr: args.lr,
    alphaNat: args.alpha.alphaNat,
    alphaAdv: args.alpha.alphaAdv,
    imagesPerSecond: sums.count / sums.trainSeconds,
    trainSeconds: sums.trainSeconds,
    valSeconds: args.valSeconds,
    resumedAtStep: args.resumedAtStep,
    best: args.best ?? false,
    catastrophicOverfitting: args.catastrophicOverfitting ?? false,
    robustnessCollapse: args.robustnessCollapse ?? false,
    budgetLeftSeconds: args.budgetLeftSeconds ?? null,
    time: new Date().toISOString(),
  };
}
