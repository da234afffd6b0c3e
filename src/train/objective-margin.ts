import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from './losses.js';
import { OBJECTIVE_DEFAULTS } from './modes.js';
import type { TrainingObjective } from './objective.js';

/**
 * The average-margin regulariser after Wu & Yu ("Understanding Adversarial Robustness: The
 * Trade-off between Minimum and Average Margin", arXiv 1907.11780): cross-entropy keeps
 * enlarging the margin of the examples nearest the boundary (the minimum margin) while the
 * average margin falls; a regulariser that promotes the average margin trades some of that
 * back. Here the margin of a row is its logit margin m_i = z_{y_i} − max_{k≠y_i} z_k, and the
 * regulariser, capped at τ so that it cannot grow the logits without bound, is
 *
 *   R = (1/N) Σ_i max(0, τ − m_i)  = τ − (1/N) Σ_i min(m_i, τ),
 *
 * i.e. minimising R maximises the average margin truncated at τ. It is added to the adversarial
 * cross-entropy on the adversarial rows: L_adv = CE(adv) + μ·R(adv), L_nat = CE(clean),
 * α = 0.5 / 0.5 as in pgd-at. docs/training.md says which parts of this follow the paper.
 */
export function logitMargins(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const hot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    const own = tf.sum(tf.mul(hot, logits), 1);
    // The true class is pushed far below every other logit before the max over the rest.
    const others = tf.max(tf.sub(logits, tf.mul(hot, 1e9)), 1);
    return tf.sub(own, others) as tf.Tensor1D;
  });
}

/** Mean of max(0, τ − m_i) over the rows. */
export function averageMarginPenalty(logits: tf.Tensor2D, labels: tf.Tensor1D, cap: number): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.relu(tf.sub(cap, logitMargins(logits, labels)))) as tf.Scalar);
}

export const MARGIN: TrainingObjective = {
  mode: 'margin',
  attackLoss: 'cross-entropy',
  initialAlpha: { alphaNat: 0.5, alphaAdv: 0.5 },
  adaptiveAlpha: false,
  needsTeachers: false,
  countsSurvivedSteps: false,
  terms: ({ cleanLogits, advLogits, labels, params }) => {
    const weight = params.marginWeight ?? OBJECTIVE_DEFAULTS.marginWeight;
    const cap = params.marginCap ?? OBJECTIVE_DEFAULTS.marginCap;
    return {
      nat: crossEntropy(cleanLogits, labels),
      adv: tf.add(crossEntropy(advLogits, labels), tf.mul(averageMarginPenalty(advLogits, labels, cap), weight)) as tf.Scalar,
    };
  },
};
