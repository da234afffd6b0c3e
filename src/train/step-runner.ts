import * as tf from '@tensorflow/tfjs';
import { ParallelPgdAt } from './parallel-step.js';
import { decayingVariables, trainStep, type StepContext, type StepFigures } from './train-step.js';
import { adversarialRows, type RouterEvasion, type TrainingAttack } from './training-attack.js';

/** One training batch: NHWC pixels, labels. */
export interface StepBatch {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

export interface StepRequest {
  readonly attack: TrainingAttack;
  readonly evasion: RouterEvasion;
  readonly seed: number;
  readonly alpha: { readonly alphaNat: number; readonly alphaAdv: number };
  /** GAIRAT: false during its burn-in (every row weighs the same); default true. */
  readonly reweight?: boolean;
}

/**
 * Runs one adversarial-training step, whatever executes it: the calling thread, or worker
 * threads that split the batch (ParallelPgdAt). The trainer sees only this.
 */
export interface StepRunner {
  step(batch: StepBatch, request: StepRequest): Promise<StepFigures>;
  close(): Promise<void>;
}

/** The single-thread step. */
export class SerialStepRunner implements StepRunner {
  private readonly decaying: ReadonlyMap<string, tf.Variable>;

  constructor(private readonly ctx: StepContext) {
    this.decaying = decayingVariables(ctx.model);
  }

  step(batch: StepBatch, request: StepRequest): Promise<StepFigures> {
    const { height, width, channels } = this.ctx.model.config.input;
    const x = tf.tensor4d(batch.images, [batch.count, height, width, channels]);
    const y = tf.tensor1d(batch.labels, 'int32');
    try {
      const { xAdv, evading, kappa } =
        request.attack.eps === 0
          ? { xAdv: tf.clone(x), evading: 0, kappa: null }
          : adversarialRows(this.ctx.model, x, y, this.ctx.mode, request.attack, request.evasion, request.seed);
      try {
        const survival = { kappa, attackSteps: request.attack.steps, reweight: request.reweight ?? true };
        return Promise.resolve(trainStep(this.ctx, x, xAdv, y, request.alpha, this.decaying, evading, request.evasion.omega, survival));
      } finally {
        xAdv.dispose();
      }
    } finally {
      tf.dispose([x, y]);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The data-parallel step over worker threads, applied to the main thread's model. */
export class ParallelStepRunner implements StepRunner {
  constructor(
    private readonly parallel: ParallelPgdAt,
    private readonly ctx: Pick<StepContext, 'model' | 'optimizer'>,
  ) {}

  async step(batch: StepBatch, request: StepRequest): Promise<StepFigures> {
    const result = await this.parallel.step(this.ctx.model, this.ctx.optimizer, batch.images, batch.labels, request);
    return result.figures;
  }

  close(): Promise<void> {
    return this.parallel.close();
  }
}
