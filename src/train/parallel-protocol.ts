import type * as tf from '@tensorflow/tfjs';
import type { ConfigOverrides } from '../model/presets.js';
import type { Model, Variant } from '../model/types.js';
import type { BackendName } from '../tf/backend.js';
import type { TrainMode } from './modes.js';
import type { ObjectiveParams } from './objective.js';
import type { StepFigures } from './train-step.js';
import type { RouterEvasion, TrainingAttack } from './training-attack.js';

// Messages between ParallelPgdAt (parallel-step.ts) and its workers (parallel-worker.ts).

/** What a worker needs to rebuild the model (functions cannot cross threads). */
export interface ParallelSetup extends ObjectiveParams {
  readonly backend: BackendName;
  readonly preset: string;
  readonly variant: Variant;
  /** Architecture overrides (numClasses included) of the model being trained; none: the preset's. */
  readonly overrides?: ConfigOverrides;
  /** Objective; default 'pgd-at'. */
  readonly mode?: TrainMode;
  /** Checkpoint directories of MTARD's clean and robust teachers, which every worker loads for itself. */
  readonly teachers?: { readonly clean: string; readonly adv: string };
  readonly weightDecay: number;
  /** Label smoothing of the router's type targets; default 0. */
  readonly typeSmoothing?: number;
}

export interface ShardTask {
  readonly type: 'step';
  /** Every variable of the model, in the order of sortedVariables(). */
  readonly weights: Float32Array;
  /** NHWC pixels of this worker's shard. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  /** How the shard's adversarial rows are made (eps 0: the clean images themselves). */
  readonly attack: TrainingAttack;
  readonly evasion: RouterEvasion;
  readonly seed: number;
  /** Objective weights; default initialAlpha(mode). */
  readonly alpha?: { readonly alphaNat: number; readonly alphaAdv: number };
  /** GAIRAT: false during its burn-in; default true. */
  readonly reweight?: boolean;
}

export type ToParallelWorker = ShardTask | { readonly type: 'stop' };

export type FromParallelWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done';
      /** Gradients (weight decay included) of the trainable variables, in sortedVariables() order. */
      readonly grads: Float32Array;
      /** Every variable after the step (BN running statistics moved), in sortedVariables() order. */
      readonly weights: Float32Array;
      readonly figures: StepFigures;
      readonly seconds: { readonly attack: number; readonly update: number };
    }
  | { readonly type: 'failed'; readonly message: string };

/** The model's variables sorted by stable name: the layout of every weight/gradient vector. */
export function sortedVariables(model: Model): [string, tf.Variable][] {
  return [...model.namedVariables()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
