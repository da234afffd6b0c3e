import type * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { pgd } from './pgd.js';

export interface CwInfOptions {
  readonly eps: number;
  /** Default 30, as in the evaluation protocol of the AW-Net paper. */
  readonly steps?: number;
  /** Default eps / 4. */
  readonly stepSize?: number;
  readonly randomStart?: boolean;
  readonly seed?: number | string;
}

export const CW_DEFAULT_STEPS = 30;

/**
 * CW∞: L∞ PGD on the Carlini–Wagner margin loss max_{j≠y} z_j − z_y. The margin does not
 * saturate the way softmax cross-entropy does, which makes it the stronger probe of
 * models whose logits are large. The caller owns the returned tensor.
 */
export function cwInf(
  model: Model,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  options: CwInfOptions,
): tf.Tensor4D {
  return pgd(model, x, labels, {
    eps: options.eps,
    steps: options.steps ?? CW_DEFAULT_STEPS,
    stepSize: options.stepSize ?? options.eps / 4,
    randomStart: options.randomStart ?? true,
    seed: options.seed ?? 0,
    loss: 'cw',
  });
}
