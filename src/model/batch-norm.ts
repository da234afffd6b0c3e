import * as tf from '@tensorflow/tfjs';

import { BN_EPSILON } from './architecture.js';
import { groupedBatchNorm } from './batch-norm-kernel.js';
import type { VariableStore } from './variable-store.js';

/** What a normalisation layer needs to know about the current forward pass. */
export interface NormContext {
  readonly training: boolean;
  /** Training only: rows [0, cleanCount) are clean, the rest adversarial. */
  readonly cleanCount: number;
  /** Inference only: per-sample P(clean) [N] to mix a MixBN's two BNs, or null for BN_clean alone. */
  readonly pClean: tf.Tensor1D | null;
}

export interface Norm {
  apply(h: tf.Tensor4D, ctx: NormContext): tf.Tensor4D;
}

/** Per-channel affine form of a BN at inference: BN(h) = scale·h + shift. */
export interface BnAffine {
  readonly scale: tf.Tensor1D;
  readonly shift: tf.Tensor1D;
}

/**
 * Batch normalisation over N, H, W with running statistics. Training uses the batch's
 * (biased) mean and variance and updates running = m·running + (1 − m)·batch, the running
 * variance from the unbiased batch variance.
 */
export class BatchNorm implements Norm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;

  constructor(
    store: VariableStore,
    readonly name: string,
    readonly channels: number,
    readonly momentum: number,
  ) {
    const ones = new Float32Array(channels).fill(1);
    const zeros = new Float32Array(channels);
    this.gamma = store.create(`${name}/gamma`, [channels], ones, true);
    this.beta = store.create(`${name}/beta`, [channels], zeros, true);
    this.movingMean = store.create(`${name}/moving_mean`, [channels], zeros, false);
    this.movingVariance = store.create(`${name}/moving_variance`, [channels], ones, false);
  }

  apply(h: tf.Tensor4D, ctx: NormContext): tf.Tensor4D {
    return ctx.training ? this.train(h) : this.infer(h);
  }

  /** Normalise with batch statistics and move the running statistics. */
  train(h: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, height, width, c] = h.shape;
      const count = n * height * width;
      const y = groupedBatchNorm(
        tf.reshape(h, [1, count, c]),
        tf.reshape(this.gamma, [1, 1, c]),
        tf.reshape(this.beta, [1, 1, c]),
        (mean, variance) => this.updateRunningStats(tf.reshape(mean, [c]), tf.reshape(variance, [c]), count),
      );
      return tf.reshape(y, h.shape);
    });
  }

  /** Normalise with the running statistics. */
  infer(h: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { scale, shift } = this.affine();
      return tf.add(tf.mul(h, scale), shift) as tf.Tensor4D;
    });
  }

  affine(): BnAffine {
    return tf.tidy(() => {
      const scale = tf.mul(this.gamma, tf.rsqrt(tf.add(this.movingVariance, BN_EPSILON))) as tf.Tensor1D;
      const shift = tf.sub(this.beta, tf.mul(this.movingMean, scale)) as tf.Tensor1D;
      return { scale, shift };
    });
  }

  /** running = m·running + (1 − m)·batch; `variance` is the biased batch variance of `count` values. */
  updateRunningStats(mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void {
    // Nothing downstream of these assignments reaches the loss, so no gradient flows here.
    tf.tidy(() => {
      const m = this.momentum;
      const unbiased = count > 1 ? tf.mul(variance, count / (count - 1)) : variance;
      this.movingMean.assign(tf.add(tf.mul(this.movingMean, m), tf.mul(mean, 1 - m)));
      this.movingVariance.assign(
        tf.add(tf.mul(this.movingVariance, m), tf.mul(unbiased, 1 - m)),
      );
    });
  }
}
