import * as tf from '@tensorflow/tfjs';
import { perSampleCrossEntropy } from '../attacks/losses.js';
import { crossEntropy } from './losses.js';
import { OBJECTIVE_DEFAULTS } from './modes.js';
import type { TrainingObjective } from './objective.js';

/**
 * GAIRAT (Zhang, Zhu, Niu, Han, Sugiyama & Kankanhalli, "Geometry-aware Instance-reweighted
 * Adversarial Training", ICLR 2021). An adversarial example whose clean point lies close to the
 * decision boundary is attacked successfully in few PGD steps; GAIRAT gives it more weight:
 *
 *   w(κ) = (1 + tanh(λ + 5·(1 − 2κ/K))) / 2,        w̃_i = N·w_i / Σ_j w_j,
 *   L_adv = (1/N) Σ_i w̃_i · CE(f(x̃_i), y_i),
 *
 * κ_i the number of the K PGD iterates (start included, final excluded) that still classify
 * x_i correctly (the paper's "least PGD steps"), λ the curve's shift (λ → +∞: plain AT). The
 * authors' code writes ⌊K/2⌋ for K/2; the paper's form also serves odd K and K = 1. During
 * the burn-in every weight is 1 (plain AT), as the paper trains the first part of its schedule.
 * L_nat = CE(clean) and α = 0.5 / 0.5 as in pgd-at, so the two modes differ by the weights alone.
 */
export function gairatWeights(kappa: tf.Tensor1D, steps: number, lambda: number): tf.Tensor1D {
  return tf.tidy(() => {
    const w = tf.div(tf.add(tf.tanh(tf.add(tf.mul(tf.sub(1, tf.mul(kappa, 2 / steps)), 5), lambda)), 1), 2);
    return tf.div(tf.mul(w, kappa.shape[0]), tf.sum(w)) as tf.Tensor1D;
  });
}

/** Mean cross-entropy with per-row weights [N]. */
export function weightedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.mul(perSampleCrossEntropy(logits, labels), weights)) as tf.Scalar);
}

export const GAIRAT: TrainingObjective = {
  mode: 'gairat',
  attackLoss: 'cross-entropy',
  initialAlpha: { alphaNat: 0.5, alphaAdv: 0.5 },
  adaptiveAlpha: false,
  needsTeachers: false,
  countsSurvivedSteps: true,
  terms: ({ cleanLogits, advLogits, labels, params, signals }) => {
    const nat = crossEntropy(cleanLogits, labels);
    // No κ (an attack of eps 0 has no steps) or the burn-in: every row weighs the same.
    if (signals.reweight === false || signals.kappa === undefined || signals.attackSteps === undefined) {
      return { nat, adv: crossEntropy(advLogits, labels) };
    }
    const weights = gairatWeights(signals.kappa, signals.attackSteps, params.gairatLambda ?? OBJECTIVE_DEFAULTS.gairatLambda);
    return { nat, adv: weightedCrossEntropy(advLogits, labels, weights) };
  },
};
