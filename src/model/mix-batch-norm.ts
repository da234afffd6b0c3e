import * as tf from '@tensorflow/tfjs';

import type { NormSpec } from './architecture.js';
import { groupedBatchNorm } from './batch-norm-kernel.js';
import { BatchNorm, type Norm, type NormContext } from './batch-norm.js';
import type { VariableStore } from './variable-store.js';

/**
 * MixBN (the paper's Eq. 13–14): two BNs over the same channels.
 * - Training: rows [0, cleanCount) go through BN_clean with their own batch statistics,
 *   the remaining rows through BN_adv; each BN's running statistics move only with its rows.
 *   Equal halves (the usual [clean; adversarial] batch) take a single grouped pass.
 * - Inference: y = (1 − p)·BN_adv(h) + p·BN_clean(h), p = per-sample P(clean), computed in
 *   the folded form y = (a_adv + p·(a_clean − a_adv))·h + (b_adv + p·(b_clean − b_adv)),
 *   the form the ONNX export uses. Without p, BN_clean alone.
 */
export class MixBatchNorm implements Norm {
  readonly clean: BatchNorm;
  readonly adv: BatchNorm;

  constructor(store: VariableStore, name: string, channels: number, momentum: number) {
    this.clean = new BatchNorm(store, `${name}/clean`, channels, momentum);
    this.adv = new BatchNorm(store, `${name}/adv`, channels, momentum);
  }

  apply(h: tf.Tensor4D, ctx: NormContext): tf.Tensor4D {
    if (ctx.training) return this.train(h, ctx.cleanCount);
    return ctx.pClean ? this.mix(h, ctx.pClean) : this.clean.infer(h);
  }

  train(h: tf.Tensor4D, cleanCount: number): tf.Tensor4D {
    const n = h.shape[0];
    const c = Math.max(0, Math.min(n, Math.floor(cleanCount)));
    if (c === n) return this.clean.train(h);
    if (c === 0) return this.adv.train(h);
    if (2 * c === n) return this.trainHalves(h);
    return tf.tidy(() => {
      const [, height, width, channels] = h.shape;
      const hClean = tf.slice(h, [0, 0, 0, 0], [c, height, width, channels]);
      const hAdv = tf.slice(h, [c, 0, 0, 0], [n - c, height, width, channels]);
      return tf.concat([this.clean.train(hClean), this.adv.train(hAdv)], 0);
    });
  }

  /** Equal clean and adversarial halves: both BNs in one pass over a [2, N/2·H·W, C] view. */
  private trainHalves(h: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, height, width, c] = h.shape;
      const count = (n / 2) * height * width;
      const pair = (a: tf.Variable, b: tf.Variable): tf.Tensor3D => tf.reshape(tf.concat([a, b]), [2, 1, c]);
      const y = groupedBatchNorm(
        tf.reshape(h, [2, count, c]),
        pair(this.clean.gamma, this.adv.gamma),
        pair(this.clean.beta, this.adv.beta),
        (mean, variance) => {
          const [meanClean, meanAdv] = tf.unstack(mean) as [tf.Tensor1D, tf.Tensor1D];
          const [varClean, varAdv] = tf.unstack(variance) as [tf.Tensor1D, tf.Tensor1D];
          this.clean.updateRunningStats(meanClean, varClean, count);
          this.adv.updateRunningStats(meanAdv, varAdv, count);
        },
      );
      return tf.reshape(y, h.shape);
    });
  }

  mix(h: tf.Tensor4D, pClean: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => {
      const a = this.adv.affine();
      const c = this.clean.affine();
      const p = tf.reshape(pClean, [-1, 1, 1, 1]);
      const scale = tf.add(a.scale, tf.mul(p, tf.sub(c.scale, a.scale)));
      const shift = tf.add(a.shift, tf.mul(p, tf.sub(c.shift, a.shift)));
      return tf.add(tf.mul(h, scale), shift) as tf.Tensor4D;
    });
  }
}

export function createNorm(store: VariableStore, spec: NormSpec, momentum: number): BatchNorm | MixBatchNorm {
  return spec.kind === 'mixbn'
    ? new MixBatchNorm(store, spec.name, spec.channels, momentum)
    : new BatchNorm(store, spec.name, spec.channels, momentum);
}
