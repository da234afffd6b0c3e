import * as tf from '@tensorflow/tfjs';

/**
 * The loss pieces of the training objective, each a mean over the batch of a per-sample
 * value. KL divergences follow the distillation convention (PyTorch's
 * `KLDivLoss(log_softmax(student), softmax(target))`): KL(P_target ‖ P_student) =
 * Σ_k p_target,k (log p_target,k − log p_student,k), so gradients reach the student through
 * its log-probabilities and the target acts as fixed soft labels.
 */

/** Mean cross-entropy of logits [N, K] against integer labels [N]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const hot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(hot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/** Mean cross-entropy against soft targets: rows of `targetProbs` [N, K] summing to 1. */
export function softCrossEntropy(logits: tf.Tensor2D, targetProbs: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targetProbs, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}

/**
 * Per-sample KL(P_target ‖ P_student) [N] from logits. The target side is wrapped in
 * stopGradient semantics by the callers passing constants; the student side carries the
 * gradient.
 */
export function perSampleKl(targetLogits: tf.Tensor2D, studentLogits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logT = tf.logSoftmax(targetLogits);
    const logS = tf.logSoftmax(studentLogits);
    return tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, logS)), 1) as tf.Tensor1D;
  });
}

/** Mean KL(P_target ‖ P_student) over the batch. */
export function klDivergence(targetLogits: tf.Tensor2D, studentLogits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(perSampleKl(targetLogits, studentLogits)));
}

/**
 * The known type of each row of a [clean; adversarial] training batch: 0 (clean) for the
 * first `cleanCount` rows — benign-corrupted clean images included — and 1 (adversarial) for
 * the rest, router-evading examples included.
 */
export function typeLabels(cleanCount: number, rows: number): Int32Array {
  const out = new Int32Array(rows);
  out.fill(1, cleanCount);
  return out;
}

/**
 * The router's type loss: cross-entropy of the type head [N, 2] against typeLabels(cleanCount, N),
 * the labels smoothed by `smoothing` (targets 1 − s/2 and s/2). Smoothing keeps the head from
 * becoming certain: a saturated P(clean) has no gradient, so white-box attacks stop seeing the
 * router while a score-only attack still moves it.
 */
export function typeLoss(typeLogits: tf.Tensor2D, cleanCount: number, smoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const hot = tf.oneHot(tf.tensor1d(typeLabels(cleanCount, typeLogits.shape[0]), 'int32'), 2);
    return softCrossEntropy(typeLogits, tf.add(tf.mul(hot, 1 - smoothing), smoothing / 2) as tf.Tensor2D);
  });
}

/** Number of rows whose argmax equals the label. */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')));
}
