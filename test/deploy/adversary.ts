import * as tf from '@tensorflow/tfjs';
import { pgd } from '../../src/attacks/index.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import type { Model } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';

export interface ImageSet {
  /** n × height × width values in [0, 1]; one channel, so NHWC and NCHW coincide. */
  readonly clean: Float32Array;
  readonly adversarial: Float32Array;
  readonly labels: Int32Array;
  readonly n: number;
  readonly height: number;
  readonly width: number;
}

/** The attack budget the project trains and evaluates Fashion-MNIST models with. */
export const EPS = 0.1;
export const STEPS = 10;

/**
 * Real Fashion-MNIST test images and their L∞ PGD versions (eps 0.1, 10 steps of eps/4,
 * random start), made with the project's attack against `model`.
 */
export async function attackTestImages(model: Model, n: number, offset = 0): Promise<ImageSet> {
  await initBackend();
  const data = await loadFashionMnist({ split: 'test', limit: offset + n });
  const { height, width, channels } = data.shape;
  if (channels !== 1) throw new Error(`expected greyscale Fashion-MNIST, got ${channels} channels`);
  const per = height * width;
  const clean = data.images.slice(offset * per, (offset + n) * per);
  const labels = data.labels.slice(offset, offset + n);
  const x = tf.tensor4d(clean, [n, height, width, 1]);
  const y = tf.tensor1d(labels, 'int32');
  const adv = pgd(model, x, y, { eps: EPS, steps: STEPS, stepSize: EPS / 4, seed: 7 });
  const adversarial = (await adv.data()) as Float32Array;
  tf.dispose([x, y, adv]);
  return { clean, adversarial, labels, n, height, width };
}
