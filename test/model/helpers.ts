import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../../src/tf/backend.js';
import { mulberry32 } from '../../src/model/init.js';
import { buildConfig } from '../../src/model/presets.js';
import type { ArchConfig, Variant } from '../../src/model/types.js';

/**
 * The model's maths is checked on the plain-JS cpu backend: exact reference kernels, and
 * independent of the training kernels installed on wasm.
 */
export async function useCpuBackend(): Promise<void> {
  await initBackend({ backend: 'cpu', log: () => undefined });
}

/** fmnist-tiny shapes with few channels, so gradient steps stay quick on the cpu backend. */
export function tinyConfig(variant: Variant, extra: { bnMomentum?: number } = {}): ArchConfig {
  return buildConfig('fmnist-tiny', variant, {
    main: { stem: 4, widths: [4, 8], blocks: [1, 1], strides: [1, 2] },
    router: { stem: 2, widths: [2, 4], blocks: [1, 1], strides: [2, 2] },
    ...extra,
  });
}

export function uniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

export function images(config: ArchConfig, n: number, seed: number): tf.Tensor4D {
  const { height, width, channels } = config.input;
  return tf.tensor4d(uniform(n * height * width * channels, seed), [n, height, width, channels]);
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

/** Overwrites a variable with values from a function of the element index. */
export function setValues(v: tf.Variable, f: (i: number) => number): void {
  tf.tidy(() => v.assign(tf.tensor(Float32Array.from({ length: v.size }, (_, i) => f(i)), v.shape)));
}
