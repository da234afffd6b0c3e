import * as tf from '@tensorflow/tfjs';
import { adaptiveAttack, pgd } from '../../src/attacks/index.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import type { Model } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';

/** Real Fashion-MNIST test images. */
export interface TestImages {
  /** n × height × width values in [0, 1]; one channel, so NHWC and NCHW coincide. */
  readonly clean: Float32Array;
  readonly labels: Int32Array;
  readonly n: number;
  readonly height: number;
  readonly width: number;
}

export interface ImageSet extends TestImages {
  readonly adversarial: Float32Array;
}

/** The attack budget the project trains and evaluates Fashion-MNIST models with. */
export const EPS = 0.1;
export const STEPS = 10;

/** An attack that differentiates a model: NHWC images and labels in, adversarial images out (the caller disposes). */
export type Craft = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D) => tf.Tensor4D;

/** L∞ PGD, eps 0.1, 10 steps of eps/4, random start. */
export const pgdCraft: Craft = (model, x, y) => pgd(model, x, y, { eps: EPS, steps: STEPS, stepSize: EPS / 4, seed: 7 });

/** The router-aware adaptive attack (margin + λ·log P(clean)), eps 0.1, its default 30 steps of eps/4. */
export const adaptiveCraft =
  (lambda: number): Craft =>
  (model, x, y) =>
    adaptiveAttack(model, x, y, { eps: EPS, lambda, seed: 7 });

/** Test images offset … offset + n − 1. */
export async function testImages(n: number, offset = 0): Promise<TestImages> {
  const data = await loadFashionMnist({ split: 'test', limit: offset + n });
  const { height, width, channels } = data.shape;
  if (channels !== 1) throw new Error(`expected greyscale Fashion-MNIST, got ${channels} channels`);
  const per = height * width;
  return { clean: data.images.slice(offset * per, (offset + n) * per), labels: data.labels.slice(offset, offset + n), n, height, width };
}

/**
 * Real Fashion-MNIST test images and their adversarial versions, made with the project's
 * attack (`craft`, default PGD) against `model`.
 */
export async function attackTestImages(model: Model, n: number, offset = 0, craft: Craft = pgdCraft): Promise<ImageSet> {
  await initBackend();
  const images = await testImages(n, offset);
  const x = tf.tensor4d(images.clean, [n, images.height, images.width, 1]);
  const y = tf.tensor1d(images.labels, 'int32');
  const adv = craft(model, x, y);
  const adversarial = (await adv.data()) as Float32Array;
  tf.dispose([x, y, adv]);
  return { ...images, adversarial };
}
