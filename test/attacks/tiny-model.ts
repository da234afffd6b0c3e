import * as tf from '@tensorflow/tfjs';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import type { ArchConfig, ForwardOptions, ForwardResult, Model, Variant } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';

/** The backend the attack tests run on: wasm with the project's training kernels. */
export async function useWasm(): Promise<void> {
  await initBackend({ backend: 'wasm', log: () => undefined });
}

export interface TinyOptions {
  readonly seed?: number;
  /** Give the model a router (its P(clean) rises with the image's smoothness); default true. */
  readonly router?: boolean;
  /** Router: P(clean) = sigmoid(sharpness · (tau − total variation)). */
  readonly tau?: number;
  readonly sharpness?: number;
}

let counter = 0;

/**
 * A small conv net satisfying the Model interface, for tests that must not depend on the
 * real AW-Net: two strided 3×3 convs and a dense head. Its "router" is a fixed,
 * differentiable detector on the image's total variation — adversarial L∞ noise roughens
 * an image, so the score separates clean from attacked inputs and an attack can be
 * steered against it.
 */
export class TinyModel implements Model {
  readonly config: ArchConfig;
  private readonly vars: Map<string, tf.Variable>;
  private readonly hasRouter: boolean;
  private readonly tau: number;
  private readonly sharpness: number;

  constructor(options: TinyOptions = {}) {
    const seed = options.seed ?? 1;
    this.hasRouter = options.router ?? true;
    this.tau = options.tau ?? 0.2;
    this.sharpness = options.sharpness ?? 60;
    const variant: Variant = this.hasRouter ? 'awnet' : 'static';
    const backbone = { stem: 8, widths: [8, 16], blocks: [1, 1], strides: [2, 2] };
    this.config = {
      preset: 'test-tiny',
      variant,
      input: { height: 28, width: 28, channels: 1 },
      numClasses: 10,
      normalization: { mean: [0.286], std: [0.353] },
      main: backbone,
      router: backbone,
      beta: 3,
    };
    const scope = `tiny${counter++}`;
    const init = (shape: number[], fanIn: number, s: number): tf.Tensor =>
      tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed * 100 + s);
    this.vars = new Map<string, tf.Variable>([
      ['conv1', tf.variable(init([3, 3, 1, 8], 9, 1), true, `${scope}/conv1`)],
      ['b1', tf.variable(tf.zeros([8]), true, `${scope}/b1`)],
      ['conv2', tf.variable(init([3, 3, 8, 16], 72, 2), true, `${scope}/conv2`)],
      ['b2', tf.variable(tf.zeros([16]), true, `${scope}/b2`)],
      ['dense', tf.variable(init([7 * 7 * 16, 10], 784, 3), true, `${scope}/dense`)],
      ['bd', tf.variable(tf.zeros([10]), true, `${scope}/bd`)],
    ]);
  }

  private v(name: string): tf.Variable {
    const found = this.vars.get(name);
    if (!found) throw new Error(`no variable ${name}`);
    return found;
  }

  /** Per-sample total variation: mean absolute difference of neighbouring pixels. */
  static totalVariation(x: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const [n, h, w, c] = x.shape;
      const dy = tf.abs(tf.sub(tf.slice(x, [0, 1, 0, 0], [n, h - 1, w, c]), tf.slice(x, [0, 0, 0, 0], [n, h - 1, w, c])));
      const dx = tf.abs(tf.sub(tf.slice(x, [0, 0, 1, 0], [n, h, w - 1, c]), tf.slice(x, [0, 0, 0, 0], [n, h, w - 1, c])));
      return tf.add(tf.mean(dy, [1, 2, 3]), tf.mean(dx, [1, 2, 3])) as tf.Tensor1D;
    });
  }

  forward(x: tf.Tensor4D, _options: ForwardOptions): ForwardResult {
    const logits = tf.tidy(() => {
      const xn = tf.div(tf.sub(x, 0.286), 0.353) as tf.Tensor4D;
      const h1 = tf.relu(tf.add(tf.conv2d(xn, this.v('conv1') as tf.Tensor4D, 2, 'same'), this.v('b1')));
      const h2 = tf.relu(tf.add(tf.conv2d(h1 as tf.Tensor4D, this.v('conv2') as tf.Tensor4D, 2, 'same'), this.v('b2')));
      const flat = tf.reshape(h2, [x.shape[0], 7 * 7 * 16]);
      return tf.add(tf.matMul(flat, this.v('dense')), this.v('bd')) as tf.Tensor2D;
    });
    if (!this.hasRouter) return { logits, typeLogits: null, pClean: null };
    const [typeLogits, pClean] = tf.tidy(() => {
      const z = tf.mul(tf.sub(this.tau, TinyModel.totalVariation(x)), this.sharpness);
      return [tf.stack([z, tf.zerosLike(z)], 1) as tf.Tensor2D, tf.sigmoid(z) as tf.Tensor1D] as const;
    });
    return { logits, typeLogits, pClean };
  }

  trainableVariables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  namedVariables(): ReadonlyMap<string, tf.Variable> {
    return this.vars;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
  }
}

export interface Batch {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor1D;
}

/** `count` real Fashion-MNIST images from `offset` of a split, as tensors. */
export async function fashionBatch(split: 'train' | 'test', count: number, offset = 0): Promise<Batch> {
  const data = await loadFashionMnist({ split, limit: offset + count });
  const per = 28 * 28;
  const x = tf.tensor4d(data.images.slice(offset * per, (offset + count) * per), [count, 28, 28, 1]);
  const y = tf.tensor1d(data.labels.slice(offset, offset + count), 'int32');
  return { x, y };
}

/**
 * A few Adam steps of clean cross-entropy training on real images. The conv filters stay
 * at their random initialisation (random features); biases and the dense head learn.
 * That keeps the tests clear of the slow filter-gradient path while still giving a model
 * that classifies well above chance.
 */
export function trainTiny(model: TinyModel, data: Batch, steps: number, batchSize = 64): void {
  const optimizer = tf.train.adam(0.01);
  const n = data.x.shape[0];
  for (let s = 0; s < steps; s++) {
    const start = (s * batchSize) % (n - batchSize + 1);
    tf.tidy(() => {
      const xb = tf.slice(data.x, [start, 0, 0, 0], [batchSize, 28, 28, 1]);
      const yb = tf.slice(data.y, [start], [batchSize]);
      optimizer.minimize(
        () => {
          const out = model.forward(xb, { training: true });
          return tf.losses.softmaxCrossEntropy(tf.oneHot(yb, 10), out.logits) as tf.Scalar;
        },
        false,
        model.trainableVariables().filter((v) => !/conv\d$/.test(v.name)),
      );
    });
  }
  optimizer.dispose();
}

/** Mean of a per-sample statistic of a tensor, read back as a number. */
export function meanOf(t: tf.Tensor): number {
  const m = tf.mean(t);
  const v = m.dataSync()[0] ?? NaN;
  m.dispose();
  return v;
}
