import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import {
  checkBatch,
  checkEps,
  checkStepSize,
  checkSteps,
  randomStart as startNear,
  signStep,
} from './linf.js';
import { resolveLoss, type AttackLoss, type AttackLossName } from './losses.js';

export interface PgdOptions {
  readonly eps: number;
  readonly steps: number;
  readonly stepSize: number;
  /** Start from a uniform random point of the eps-ball (Madry et al.); default true. */
  readonly randomStart?: boolean;
  /** Seed of the random start; the same seed and input give the same x_adv. Default 0. */
  readonly seed?: number | string;
  /** What to maximise: 'ce' (default), 'cw' (the CW margin) or a custom loss. */
  readonly loss?: AttackLossName | AttackLoss;
}

/**
 * L∞ projected gradient descent (ascent on the loss), batched, against the model in
 * inference mode. Returns the last iterate, inside the eps-ball around x and [0, 1].
 * The caller owns the returned tensor; nothing else is left allocated.
 */
export function pgd(
  model: Model,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  options: PgdOptions,
): tf.Tensor4D {
  const { eps, steps, stepSize } = options;
  checkEps(eps);
  checkSteps(steps);
  checkStepSize(stepSize);
  checkBatch(model, x, labels);
  const loss = resolveLoss(options.loss);

  let xAdv: tf.Tensor4D =
    options.randomStart === false ? tf.clone(x) : startNear(x, eps, options.seed ?? 0);
  for (let i = 0; i < steps; i++) {
    const next = signStep(model, x, xAdv, labels, loss, stepSize, eps);
    xAdv.dispose();
    xAdv = next;
  }
  return xAdv;
}
