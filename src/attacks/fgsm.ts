import type * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { checkBatch, checkEps, signStep } from './linf.js';
import { resolveLoss, type AttackLoss, type AttackLossName } from './losses.js';

export interface FgsmOptions {
  readonly eps: number;
  /** What to maximise; cross-entropy by default. */
  readonly loss?: AttackLossName | AttackLoss;
}

/**
 * Fast Gradient Sign Method (Goodfellow et al.): one step of size eps along the sign of
 * the input gradient, from the clean image. The caller owns the returned tensor.
 */
export function fgsm(
  model: Model,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  options: FgsmOptions,
): tf.Tensor4D {
  checkEps(options.eps);
  checkBatch(model, x, labels);
  return signStep(model, x, x, labels, resolveLoss(options.loss), options.eps, options.eps);
}
