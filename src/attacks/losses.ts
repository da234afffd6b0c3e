import * as tf from '@tensorflow/tfjs';
import type { ForwardResult } from '../model/types.js';

/**
 * What an attack maximises, summed over the batch. Summing (not averaging) keeps every
 * sample's gradient independent of the batch size, so the sign step never sees values
 * shrunk towards zero by a large N.
 */
export type AttackLoss = (out: ForwardResult, labels: tf.Tensor1D) => tf.Scalar;

export type AttackLossName = 'ce' | 'cw';

function oneHot(labels: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.oneHot(tf.cast(labels, 'int32'), numClasses).toFloat() as tf.Tensor2D;
}

/** Per-sample cross-entropy of the logits against the labels, shape [N]. */
export function perSampleCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const hot = oneHot(labels, logits.shape[1]);
  return tf.neg(tf.sum(tf.mul(hot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
}

/**
 * Per-sample CW margin, shape [N]: the largest wrong logit minus the true logit
 * (Carlini & Wagner's f6 without the confidence clamp). Positive means misclassified.
 */
export function perSampleMargin(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const hot = oneHot(labels, logits.shape[1]);
  const trueLogit = tf.sum(tf.mul(hot, logits), 1);
  // Push the true class far below every other logit so max() picks the best wrong one.
  const masked = tf.sub(logits, tf.mul(hot, 1e9));
  const bestWrong = tf.max(masked, 1);
  return tf.sub(bestWrong, trueLogit) as tf.Tensor1D;
}

/** log P(clean) from the router's type head, shape [N]; null for models without a router. */
export function perSampleLogPClean(out: ForwardResult): tf.Tensor1D | null {
  if (out.typeLogits !== null) {
    // From the logits rather than log(pClean): stable when P(clean) underflows.
    const logp = tf.logSoftmax(out.typeLogits);
    return tf.squeeze(tf.slice(logp, [0, 0], [-1, 1]), [1]) as tf.Tensor1D;
  }
  if (out.pClean !== null) {
    return tf.log(tf.clipByValue(out.pClean, 1e-12, 1)) as tf.Tensor1D;
  }
  return null;
}

export const crossEntropyLoss: AttackLoss = (out, labels) =>
  tf.sum(perSampleCrossEntropy(out.logits, labels));

export const cwMarginLoss: AttackLoss = (out, labels) =>
  tf.sum(perSampleMargin(out.logits, labels));

export function resolveLoss(loss: AttackLossName | AttackLoss | undefined): AttackLoss {
  if (loss === undefined || loss === 'ce') return crossEntropyLoss;
  if (loss === 'cw') return cwMarginLoss;
  return loss;
}
