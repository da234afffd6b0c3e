import { DataError } from './errors.js';
import { Rng } from './rng.js';
import type { Dataset } from './types.js';

export interface TrainValSplit {
  /** Indices into the dataset, ascending. */
  readonly train: Int32Array;
  readonly val: Int32Array;
}

/**
 * A seeded train/validation split: the validation set is the last `valSize` positions of a
 * permutation drawn from `seed`, so the same seed and dataset always give the same split.
 */
export function splitTrainVal(count: number, valSize: number, seed: number): TrainValSplit {
  if (!Number.isInteger(valSize) || valSize < 0) {
    throw new DataError('DATA_BAD_OPTION', `validation size must be a non-negative integer, got ${valSize}`);
  }
  if (valSize >= count) {
    throw new DataError('DATA_BAD_OPTION', `validation size ${valSize} leaves no training images out of ${count}; use a value below ${count}`);
  }
  const order = Rng.derive(seed, 0x5111).permutation(count);
  const train = order.slice(0, count - valSize).sort();
  const val = order.slice(count - valSize).sort();
  return { train, val };
}

export interface Batch {
  /** NHWC float32 pixels of `count` images. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

/** Copies the images and labels at `indices` into one contiguous batch. */
export function gatherBatch(dataset: Dataset, indices: ArrayLike<number>): Batch {
  const size = dataset.shape.height * dataset.shape.width * dataset.shape.channels;
  const images = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] as number;
    if (src < 0 || src >= dataset.count) throw new RangeError(`gatherBatch: index ${src} outside 0..${dataset.count - 1}`);
    images.set(dataset.images.subarray(src * size, (src + 1) * size), i * size);
    labels[i] = dataset.labels[src] as number;
  }
  return { images, labels, count: indices.length };
}

/** The order in which one epoch visits `indices`: a permutation seeded by (seed, epoch). */
export function epochOrder(indices: Int32Array, seed: number, epoch: number): Int32Array {
  const order = Rng.derive(seed, 0xe90c, epoch).permutation(indices.length);
  return order.map((i) => indices[i] as number);
}

/** Full batches per epoch; the incomplete tail is left out so BN never sees a tiny batch. */
export function stepsPerEpoch(count: number, batchSize: number): number {
  return Math.floor(count / batchSize);
}
