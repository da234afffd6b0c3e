import * as tf from '@tensorflow/tfjs';
import { pgd } from '../attacks/pgd.js';
import type { Dataset } from '../data/types.js';
import { gatherBatch } from '../data/split.js';
import type { Model } from '../model/types.js';
import { correctCount } from './losses.js';

export interface ValidationOptions {
  readonly batchSize: number;
  readonly eps: number;
  readonly attackSteps: number;
  readonly attackStepSize: number;
  readonly seed: number;
}

export interface ValidationFigures {
  /** Clean accuracy on every validation image. */
  readonly cleanAcc: number;
  readonly cleanCount: number;
  /** PGD accuracy on the first `pgdCount` validation images. */
  readonly pgdAcc: number | null;
  readonly pgdCount: number;
  /**
   * Router type accuracy on those images and their PGD versions: P(clean) > 0.5 on clean,
   * < 0.5 on adversarial. Null without a router.
   */
  readonly routerAcc: number | null;
}

function toTensors(dataset: Dataset, indices: Int32Array): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const batch = gatherBatch(dataset, indices);
  const { height, width, channels } = dataset.shape;
  return { x: tf.tensor4d(batch.images, [batch.count, height, width, channels]), y: tf.tensor1d(batch.labels, 'int32') };
}

/** Clean accuracy on `indices`, PGD accuracy and router accuracy on `pgdIndices`. */
export function validate(model: Model, dataset: Dataset, indices: Int32Array, pgdIndices: Int32Array, options: ValidationOptions): ValidationFigures {
  let correct = 0;
  for (let start = 0; start < indices.length; start += options.batchSize) {
    const { x, y } = toTensors(dataset, indices.subarray(start, start + options.batchSize));
    const c = tf.tidy(() => correctCount(model.forward(x, { training: false }).logits, y));
    correct += c.dataSync()[0]!;
    tf.dispose([x, y, c]);
  }
  let pgdCorrect = 0;
  let routerCorrect = 0;
  let hasRouter = false;
  for (let start = 0; start < pgdIndices.length; start += options.batchSize) {
    const { x, y } = toTensors(dataset, pgdIndices.subarray(start, start + options.batchSize));
    const xAdv = pgd(model, x, y, {
      eps: options.eps,
      steps: options.attackSteps,
      stepSize: options.attackStepSize,
      randomStart: true,
      seed: options.seed + start,
    });
    const counts = tf.tidy(() => {
      const clean = model.forward(x, { training: false });
      const adv = model.forward(xAdv, { training: false });
      const acc = tf.cast(correctCount(adv.logits, y), 'float32');
      if (clean.pClean === null || adv.pClean === null) return tf.stack([acc, tf.scalar(-1)]);
      const router = tf.add(tf.sum(tf.cast(tf.greater(clean.pClean, 0.5), 'float32')), tf.sum(tf.cast(tf.less(adv.pClean, 0.5), 'float32')));
      return tf.stack([acc, router]);
    });
    const [a, r] = counts.dataSync();
    pgdCorrect += a!;
    if (r! >= 0) {
      hasRouter = true;
      routerCorrect += r!;
    }
    tf.dispose([x, y, xAdv, counts]);
  }
  const pgdCount = pgdIndices.length;
  return {
    cleanAcc: indices.length > 0 ? correct / indices.length : 0,
    cleanCount: indices.length,
    pgdAcc: pgdCount > 0 ? pgdCorrect / pgdCount : null,
    pgdCount,
    routerAcc: pgdCount > 0 && hasRouter ? routerCorrect / (2 * pgdCount) : null,
  };
}
