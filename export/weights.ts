import type * as tf from '@tensorflow/tfjs';
import { BN_EPSILON } from '../src/model/architecture.js';
import { ExportError } from './errors.js';

export interface WeightArray {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/**
 * A model's variables as plain arrays, by the stable names of `Model.namedVariables()`.
 * Lookups check the shape the exporter expects, so a checkpoint whose layout does not
 * match its configuration fails with the variable's name instead of producing a wrong graph.
 */
export class Weights {
  private readonly used = new Set<string>();

  constructor(private readonly arrays: ReadonlyMap<string, WeightArray>) {}

  static fromVariables(variables: ReadonlyMap<string, tf.Variable>): Weights {
    const arrays = new Map<string, WeightArray>();
    for (const [name, v] of variables) {
      arrays.set(name, { shape: [...v.shape], values: Float32Array.from(v.dataSync() as Float32Array) });
    }
    return new Weights(arrays);
  }

  get(name: string, shape: readonly number[]): Float32Array {
    const w = this.arrays.get(name);
    if (!w) {
      throw new ExportError('EXPORT_MISSING_VARIABLE', `the model has no variable ${name} (expected shape [${shape.join(', ')}])`);
    }
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new ExportError(
        'EXPORT_BAD_VARIABLE_SHAPE',
        `variable ${name} has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
    }
    this.used.add(name);
    return w.values;
  }

  /** Names of variables never read: a sign the graph left part of the model out. */
  unused(): string[] {
    return [...this.arrays.keys()].filter((n) => !this.used.has(n)).sort();
  }
}

/** A batch normalisation at inference written as y = a·h + b per channel. */
export interface Affine {
  readonly a: Float32Array;
  readonly b: Float32Array;
}

/** Folds the BN variables under `prefix` (gamma, beta, moving_mean, moving_variance). */
export function bnAffine(weights: Weights, prefix: string, channels: number): Affine {
  const gamma = weights.get(`${prefix}/gamma`, [channels]);
  const beta = weights.get(`${prefix}/beta`, [channels]);
  const mean = weights.get(`${prefix}/moving_mean`, [channels]);
  const variance = weights.get(`${prefix}/moving_variance`, [channels]);
  const a = new Float32Array(channels);
  const b = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const scale = (gamma[c] as number) / Math.sqrt((variance[c] as number) + BN_EPSILON);
    a[c] = scale;
    b[c] = (beta[c] as number) - (mean[c] as number) * scale;
  }
  return { a, b };
}

/** HWIO (tfjs) → OIHW (ONNX), each output filter optionally multiplied by `scale[o]`. */
export function hwioToOihw(kernel: Float32Array, shape: readonly number[], scale?: Float32Array): Float32Array {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const out = new Float32Array(kernel.length);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let i = 0; i < cin; i++) {
        const src = ((h * kw + w) * cin + i) * cout;
        for (let o = 0; o < cout; o++) {
          const v = kernel[src + o] as number;
          out[((o * cin + i) * kh + h) * kw + w] = scale ? v * (scale[o] as number) : v;
        }
      }
    }
  }
  return out;
}

/** Stacks rows: [r0; r1; …] as one row-major matrix. */
export function stackRows(rows: readonly Float32Array[]): Float32Array {
  const cols = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => out.set(r, i * cols));
  return out;
}

/** Concatenates [F, C_j] row-major matrices along their columns into [F, ΣC_j]. */
export function concatColumns(mats: readonly Float32Array[], rows: number, cols: readonly number[]): Float32Array {
  const total = cols.reduce((s, c) => s + c, 0);
  const out = new Float32Array(rows * total);
  let offset = 0;
  mats.forEach((m, j) => {
    const c = cols[j] as number;
    for (let r = 0; r < rows; r++) out.set(m.subarray(r * c, (r + 1) * c), r * total + offset);
    offset += c;
  });
  return out;
}
