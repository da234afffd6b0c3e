import * as tf from '@tensorflow/tfjs';
import { pgd } from '../attacks/pgd.js';
import type { AttackLoss } from '../attacks/losses.js';
import type { Model } from '../model/types.js';
import { perSampleKl } from './losses.js';
import type { TrainMode } from './modes.js';

export interface AdversaryOptions {
  readonly eps: number;
  readonly steps: number;
  readonly stepSize: number;
  readonly seed: number;
}

/**
 * The training-time adversarial examples: L∞ PGD with a random start against the whole
 * model in inference mode. PGD-AT and MTARD maximise the cross-entropy on the labels;
 * TRADES maximises KL(P(x) ‖ P(x_adv)) from the clean prediction, as in its own attack.
 */
export function trainingAdversary(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, mode: TrainMode, options: AdversaryOptions): tf.Tensor4D {
  if (mode !== 'trades') {
    return pgd(model, x, labels, { ...options, randomStart: true, loss: 'ce' });
  }
  const cleanLogits = tf.tidy(() => model.forward(x, { training: false }).logits);
  try {
    const klFromClean: AttackLoss = (out) => tf.sum(perSampleKl(cleanLogits, out.logits));
    return pgd(model, x, labels, { ...options, randomStart: true, loss: klFromClean });
  } finally {
    cleanLogits.dispose();
  }
}
