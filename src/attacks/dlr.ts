import * as tf from '@tensorflow/tfjs';
import { AttackOptionsError } from './errors.js';

/** Rows of a [N, K] matrix as one-hot masks of each row's k-th largest entry (k from 1), differentiable as zero. */
function kthLargestMask(logits: tf.Tensor2D, k: number): tf.Tensor2D {
  // tfjs has no gradient for TopK; ArgMax and OneHot have (zero) gradients, so repeated
  // argmax over a masked copy finds the k-th entry without breaking tf.grad.
  let masked: tf.Tensor2D = logits;
  let hot: tf.Tensor2D | null = null;
  for (let i = 0; i < k; i++) {
    if (hot !== null) masked = tf.sub(masked, tf.mul(hot, 1e9));
    hot = tf.oneHot(tf.argMax(masked, 1) as tf.Tensor1D, logits.shape[1]).toFloat() as tf.Tensor2D;
  }
  return hot as tf.Tensor2D;
}

const pick = (logits: tf.Tensor2D, hot: tf.Tensor2D): tf.Tensor1D => tf.sum(tf.mul(logits, hot), 1) as tf.Tensor1D;

/**
 * The targeted Difference of Logits Ratio loss of APGD-T (Croce & Hein 2020, eq. 7), per
 * sample, to be maximised:
 *   −(z_y − z_t) / (z_π1 − (z_π3 + z_π4) / 2),
 * π sorting the logits in decreasing order. The ratio is invariant to shifting and scaling
 * the logits, so a model cannot hide behind large or saturated logits. Needs K ≥ 4.
 */
export function perSampleTargetedDlr(logits: tf.Tensor2D, labels: tf.Tensor1D, targets: tf.Tensor1D): tf.Tensor1D {
  const k = logits.shape[1];
  if (k < 4) throw new AttackOptionsError(`the DLR loss needs at least 4 classes; the model has ${k}`);
  return tf.tidy(() => {
    const zy = pick(logits, tf.oneHot(tf.cast(labels, 'int32'), k).toFloat() as tf.Tensor2D);
    const zt = pick(logits, tf.oneHot(tf.cast(targets, 'int32'), k).toFloat() as tf.Tensor2D);
    const z1 = tf.max(logits, 1);
    const z3 = pick(logits, kthLargestMask(logits, 3));
    const z4 = pick(logits, kthLargestMask(logits, 4));
    const denominator = tf.add(tf.sub(z1, tf.mul(tf.add(z3, z4), 0.5)), 1e-12);
    return tf.neg(tf.div(tf.sub(zy, zt), denominator)) as tf.Tensor1D;
  });
}

/** Each row's classes by decreasing logit: the order APGD-T and FAB-T take their targets in. */
export function classesByLogit(logits: tf.Tensor2D): Int32Array[] {
  const k = logits.shape[1];
  const { indices, values } = tf.topk(logits, k);
  const flat = indices.dataSync() as Int32Array;
  tf.dispose([indices, values]);
  const rows: Int32Array[] = [];
  for (let i = 0; i < logits.shape[0]; i++) rows.push(flat.slice(i * k, (i + 1) * k));
  return rows;
}
