import * as tf from '@tensorflow/tfjs';

import { BN_EPSILON } from './architecture.js';

/** Per-group batch statistics [G, C]: mean and biased variance. */
export type StatsSink = (mean: tf.Tensor2D, variance: tf.Tensor2D) => void;

/**
 * Training-mode batch normalisation of G groups at once, each with its own statistics:
 * h [G, M, C] is normalised over M for every (group, channel); gamma and beta are [G, 1, C].
 * A MixBN over equal clean/adversarial halves is one call with G = 2 on a reshape of the
 * batch, which needs no slicing or concatenation of activations.
 *
 * The gradient is written out rather than left to autodiff, which on the wasm backend spends
 * most of a training step's non-convolution time in the broadcasts of tf.moments' gradient:
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dh = γ/σ · (dy − dβ/M − x̂·dγ/M),  x̂ = (h − μ)/σ.
 * `onStats` receives the batch statistics (for the running averages); nothing it computes
 * reaches the loss.
 */
export function groupedBatchNorm(h: tf.Tensor3D, gamma: tf.Tensor3D, beta: tf.Tensor3D, onStats: StatsSink): tf.Tensor3D {
  const [groups, , channels] = h.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, g, b] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const save = args[3] as tf.GradSaveFunc;
    const mean = tf.mean(x, 1, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), 1, true);
    const invStd = tf.rsqrt(tf.add(variance, BN_EPSILON));
    const xHat = tf.mul(centered, invStd);
    onStats(tf.reshape(mean, [groups, channels]), tf.reshape(variance, [groups, channels]));
    save([xHat, invStd, g]);
    return {
      value: tf.add(tf.mul(xHat, g), b) as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [sx, sInv, sg] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        const m = sx.shape[1];
        const dBeta = tf.sum(dy, 1, true);
        const dGamma = tf.sum(tf.mul(dy, sx), 1, true);
        const centeredDy = tf.sub(tf.sub(dy, tf.div(dBeta, m)), tf.mul(sx, tf.div(dGamma, m)));
        return [tf.mul(centeredDy, tf.mul(sg, sInv)), dGamma, dBeta];
      },
    };
  });
  return op(h, gamma, beta);
}
