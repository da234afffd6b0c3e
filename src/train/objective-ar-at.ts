import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from './losses.js';
import { OBJECTIVE_DEFAULTS } from './modes.js';
import type { TrainingObjective } from './objective.js';

/**
 * AR-AT (Waseda, Chang & Echizen, "Rethinking Invariance Regularization in Adversarial Training
 * to Improve Robustness-Accuracy Trade-off", arXiv 2402.14648): invariance regularisation
 * between the clean and the adversarial representation, made asymmetric so that it pulls the
 * adversarial representation towards the clean one and never the clean one towards it:
 *
 *   L = CE(f(x'), y) + CE(f(x), y) + γ·(1/N) Σ_i −cos(h(z'_i), sg(z_i)),
 *
 * z, z' the pooled features of x and x', h a predictor head (SimSiam's bottleneck MLP, here
 * without its BatchNorm) and sg the stop-gradient; with split BatchNorm, x and x' are
 * normalised by separate statistics (MixBN's BN_clean / BN_adv in AW-Net's training forward).
 * As L_nat = CE(clean), L_adv = CE(adv) + γ·L_inv and α = 1 / 1, L is that sum plus L_type.
 */

/** The identity whose gradient is zero: sg(·). */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as Parameters<typeof tf.customGrad>[0]);

/** Mean over rows of −cos(a_i, sg(b_i)); the gradient reaches `a` only. */
export function asymmetricInvariance(a: tf.Tensor2D, b: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const target = stopGradient(b) as tf.Tensor2D;
    const dot = tf.sum(tf.mul(a, target), 1);
    // The small floor keeps an all-zero row (a dead ReLU feature map) from dividing by zero.
    const norms = tf.maximum(tf.mul(tf.norm(a, 'euclidean', 1), tf.norm(target, 'euclidean', 1)), 1e-8);
    return tf.neg(tf.mean(tf.div(dot, norms))) as tf.Scalar;
  });
}

/** The predictor's hidden width for pooled features of `width` channels: SimSiam's 4× bottleneck. */
export function predictorWidth(width: number): number {
  return Math.max(4, Math.ceil(width / 4));
}

export const AR_AT: TrainingObjective = {
  mode: 'ar-at',
  attackLoss: 'cross-entropy',
  initialAlpha: { alphaNat: 1, alphaAdv: 1 },
  adaptiveAlpha: false,
  needsTeachers: false,
  countsSurvivedSteps: false,
  usesPredictor: true,
  terms: ({ out, cleanLogits, advLogits, labels, cleanCount, params }) => {
    const { embedding, prediction } = out;
    if (embedding === undefined || prediction === undefined) {
      throw new Error('ar-at needs the pooled features and the predictor head (a forward with representation, a model with a predictor)');
    }
    const n = embedding.shape[0];
    const z = tf.slice(embedding, [0, 0], [cleanCount, -1]) as tf.Tensor2D;
    const pAdv = tf.slice(prediction, [cleanCount, 0], [n - cleanCount, -1]) as tf.Tensor2D;
    const weight = params.arAtWeight ?? OBJECTIVE_DEFAULTS.arAtWeight;
    return {
      nat: crossEntropy(cleanLogits, labels),
      adv: tf.add(crossEntropy(advLogits, labels), tf.mul(asymmetricInvariance(pAdv, z), weight)) as tf.Scalar,
    };
  },
};
