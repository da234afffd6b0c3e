import * as tf from '@tensorflow/tfjs';

import { Conv2D } from './conv.js';

/**
 * Per-sample, per-output-channel scaling: y[n, h, w, m] · ω[n, m].
 * Because a bias-free convolution is linear in its filters, conv(x_n, ω_n ⊙ K) equals
 * ω_n ⊙ conv(x_n, K) channel by channel, so scaling filter m of sample n by ω[n, m]
 * (the paper's Eq. 11) is this multiplication of the output, before normalisation.
 */
export function scaleChannels(y: tf.Tensor4D, omega: tf.Tensor2D): tf.Tensor4D {
  const [n, , , c] = y.shape;
  if (omega.shape[0] !== n || omega.shape[1] !== c) {
    throw new Error(`ω has shape [${omega.shape.join(', ')}], expected [${n}, ${c}]`);
  }
  return tf.tidy(() => tf.mul(y, tf.reshape(omega, [n, 1, 1, c])));
}

/** A convolution whose filters are scaled per sample by the router's signal ω. */
export class DynamicConv2D extends Conv2D {
  /** conv(x, K) scaled by ω [N, C_out]; ω = null applies the plain (static) filters. */
  applyDynamic(x: tf.Tensor4D, omega: tf.Tensor2D | null): tf.Tensor4D {
    if (!omega) return this.apply(x);
    return tf.tidy(() => scaleChannels(this.apply(x), omega));
  }
}
