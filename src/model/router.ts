import * as tf from '@tensorflow/tfjs';

import { signalFloor, type RouterSpec } from './architecture.js';
import type { NormContext } from './batch-norm.js';
import { Dense } from './dense.js';
import { ResNet } from './resnet.js';
import { tidyObject } from './tidy.js';
import type { VariableStore } from './variable-store.js';

export interface RouterOutput {
  /** ψ [N, F]: concat of the global-average-pooled output of every stage of D. */
  readonly psi: tf.Tensor2D;
  /** [N, 2] type-head logits, column 0 = clean. */
  readonly typeLogits: tf.Tensor2D;
  /** [N] P(clean) = softmax(typeLogits)[:, 0]. */
  readonly pClean: tf.Tensor1D;
  /** One ω [N, C_out(j)] per dynamic conv j. */
  readonly omegas: readonly tf.Tensor2D[];
}

/**
 * Standard deviation of the signal heads' initial kernels. With a zero bias it starts every
 * ω near (tanh(0) + 1)^β = 1, i.e. the dynamic network starts as its static backbone.
 */
const SIGNAL_INIT_STD = 0.01;

/** ω = (clip(tanh(z) + 1, f, 2 − f))^β, f = signalFloor(β): strictly inside (0, 2^β) in float32. */
export function signalFromLogits(z: tf.Tensor2D, beta: number): tf.Tensor2D {
  return tf.tidy(() => {
    const floor = signalFloor(beta);
    const base = tf.clipByValue(tf.add(tf.tanh(z), 1), floor, 2 - floor);
    return tf.pow(base, tf.scalar(beta)) as tf.Tensor2D;
  });
}

/**
 * The adversarial router: feature extractor D (a ResNet with single BNs), a type head
 * softmax(Wψ + b) and one signal head per dynamic conv, ω_j = (tanh(W_j ψ + b_j) + 1)^β.
 */
export class Router {
  readonly extractor: ResNet;
  readonly typeHead: Dense;
  readonly signalHeads: readonly Dense[];

  constructor(
    store: VariableStore,
    readonly spec: RouterSpec,
    readonly beta: number,
    seed: number,
    momentum: number,
  ) {
    this.extractor = new ResNet(store, spec.network, seed, momentum);
    this.typeHead = new Dense(store, spec.typeHead, seed);
    this.signalHeads = spec.signalHeads.map((s) => new Dense(store, s, seed, SIGNAL_INIT_STD));
  }

  apply(x: tf.Tensor4D, training: boolean): RouterOutput {
    return tidyObject((): RouterOutput => {
      const ctx: NormContext = { training, cleanCount: x.shape[0], pClean: null };
      const { stages } = this.extractor.apply(x, ctx, null);
      const psi = tf.concat(
        stages.map((s) => tf.mean(s, [1, 2]) as tf.Tensor2D),
        1,
      );
      const typeLogits = this.typeHead.apply(psi);
      const pClean = tf.reshape(tf.slice(tf.softmax(typeLogits), [0, 0], [-1, 1]), [-1]) as tf.Tensor1D;
      const omegas = this.signalHeads.map((head) => signalFromLogits(head.apply(psi), this.beta));
      return { psi, typeLogits, pClean, omegas };
    });
  }
}
