import * as tf from '@tensorflow/tfjs';

import type { BlockSpec } from './architecture.js';
import type { Norm, NormContext } from './batch-norm.js';
import { Conv2D } from './conv.js';
import { DynamicConv2D } from './dynamic-conv.js';
import { createNorm } from './mix-batch-norm.js';
import type { VariableStore } from './variable-store.js';

/**
 * ResNet basic block: relu(F2(relu(F1(x))) + shortcut(x)), F_i = norm_i ∘ conv_i.
 * conv1 and conv2 are dynamic when the layout says so (their output is scaled by the
 * router's ω before the norm); the shortcut is a static 1×1 conv + norm when the block
 * changes shape, else the identity.
 */
export class BasicBlock {
  readonly conv1: DynamicConv2D;
  readonly norm1: Norm;
  readonly conv2: DynamicConv2D;
  readonly norm2: Norm;
  readonly shortcut: { readonly conv: Conv2D; readonly norm: Norm } | null;

  constructor(
    store: VariableStore,
    readonly spec: BlockSpec,
    seed: number,
    momentum: number,
  ) {
    this.conv1 = new DynamicConv2D(store, spec.conv1, seed);
    this.norm1 = createNorm(store, spec.norm1, momentum);
    this.conv2 = new DynamicConv2D(store, spec.conv2, seed);
    this.norm2 = createNorm(store, spec.norm2, momentum);
    this.shortcut = spec.shortcut
      ? { conv: new Conv2D(store, spec.shortcut.conv, seed), norm: createNorm(store, spec.shortcut.norm, momentum) }
      : null;
  }

  /** `omegas` holds the signal of every dynamic conv of the network, indexed by signal number. */
  apply(x: tf.Tensor4D, ctx: NormContext, omegas: readonly tf.Tensor2D[] | null): tf.Tensor4D {
    return tf.tidy(() => {
      const omega = (signal: number | null): tf.Tensor2D | null => {
        if (signal === null || !omegas) return null;
        const w = omegas[signal];
        if (!w) throw new Error(`no signal ω for dynamic conv ${signal}`);
        return w;
      };
      let h = this.conv1.applyDynamic(x, omega(this.spec.conv1.signal));
      h = tf.relu(this.norm1.apply(h, ctx));
      h = this.conv2.applyDynamic(h, omega(this.spec.conv2.signal));
      h = this.norm2.apply(h, ctx);
      const skip = this.shortcut ? this.shortcut.norm.apply(this.shortcut.conv.apply(x), ctx) : x;
      return tf.relu(tf.add(h, skip)) as tf.Tensor4D;
    });
  }
}
