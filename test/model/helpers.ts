import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../../src/tf/backend.js';
import { mulberry32 } from '../../src/model/init.js';
import { buildConfig } from '../../src/model/presets.js';
import type { ArchConfig, Model, Variant } from '../../src/model/types.js';

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

/** Gives every BN (both sets of each MixBN) its own non-trivial parameters and statistics. */
export function randomiseNorms(model: Model, seed: number): void {
  let k = seed;
  for (const [name, v] of model.namedVariables()) {
    const u = uniform(v.size, (k += 1));
    if (name.endsWith('/gamma')) setValues(v, (i) => 0.6 + 0.8 * u[i]!);
    else if (name.endsWith('/beta')) setValues(v, (i) => 0.4 * u[i]! - 0.2);
    else if (name.endsWith('/moving_mean')) setValues(v, (i) => 0.4 * u[i]! - 0.2);
    else if (name.endsWith('/moving_variance')) setValues(v, (i) => 0.5 + u[i]!);
  }
}
