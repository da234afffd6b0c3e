import * as tf from '@tensorflow/tfjs';

import type { NetworkSpec } from './architecture.js';
import { BasicBlock } from './basic-block.js';
import type { Norm, NormContext } from './batch-norm.js';
import { Conv2D } from './conv.js';
import { createNorm } from './mix-batch-norm.js';
import { tidyObject } from './tidy.js';
import type { VariableStore } from './variable-store.js';

export interface ResNetOutput {
  /** Output of the last stage [N, h, w, C_last]. */
  readonly features: tf.Tensor4D;
  /** Output of every stage, in order (the last one is `features`). */
  readonly stages: readonly tf.Tensor4D[];
}

/** Stem (3×3 conv + norm + relu), then stages of basic blocks. */
export class ResNet {
  readonly stemConv: Conv2D;
  readonly stemNorm: Norm;
  readonly stages: readonly (readonly BasicBlock[])[];

  constructor(
    store: VariableStore,
    readonly spec: NetworkSpec,
    seed: number,
    momentum: number,
  ) {
    this.stemConv = new Conv2D(store, spec.stem.conv, seed);
    this.stemNorm = createNorm(store, spec.stem.norm, momentum);
    this.stages = spec.stages.map((stage) => stage.blocks.map((b) => new BasicBlock(store, b, seed, momentum)));
  }

  apply(x: tf.Tensor4D, ctx: NormContext, omegas: readonly tf.Tensor2D[] | null): ResNetOutput {
    return tidyObject((): ResNetOutput => {
      let h = tf.relu(this.stemNorm.apply(this.stemConv.apply(x), ctx));
      const stageOutputs: tf.Tensor4D[] = [];
      for (const blocks of this.stages) {
        for (const block of blocks) h = block.apply(h, ctx, omegas);
        stageOutputs.push(h);
      }
      return { features: h, stages: stageOutputs };
    });
  }
}
