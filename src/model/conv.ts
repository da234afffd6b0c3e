import * as tf from '@tensorflow/tfjs';

import type { ConvSpec } from './architecture.js';
import { heNormal } from './init.js';
import type { VariableStore } from './variable-store.js';

/** A bias-free 2-D convolution, NHWC, kernel HWIO, TensorFlow 'same' padding. */
export class Conv2D {
  readonly kernel: tf.Variable;

  constructor(
    store: VariableStore,
    readonly spec: ConvSpec,
    seed: number,
  ) {
    const shape = [spec.kernelSize, spec.kernelSize, spec.inChannels, spec.outChannels] as const;
    this.kernel = store.create(`${spec.name}/kernel`, shape, heNormal(shape, seed, `${spec.name}/kernel`), true);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.conv2d(x, this.kernel as tf.Tensor4D, this.spec.stride, 'same');
  }
}
