import * as tf from '@tensorflow/tfjs';

import type { DenseSpec } from './architecture.js';
import { glorotUniform, normalValues } from './init.js';
import type { VariableStore } from './variable-store.js';

/** y = x·W + b with W [in, out]. */
export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    store: VariableStore,
    readonly spec: DenseSpec,
    seed: number,
    /** Standard deviation of a normal initial kernel; glorot-uniform when omitted. */
    kernelStd?: number,
  ) {
    const { name, inFeatures, outFeatures } = spec;
    const values =
      kernelStd === undefined
        ? glorotUniform(inFeatures, outFeatures, seed, `${name}/kernel`)
        : normalValues(inFeatures * outFeatures, kernelStd, seed, `${name}/kernel`);
    this.kernel = store.create(`${name}/kernel`, [inFeatures, outFeatures], values, true);
    this.bias = store.create(`${name}/bias`, [outFeatures], new Float32Array(outFeatures), true);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias) as tf.Tensor2D);
  }
}
