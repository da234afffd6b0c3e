import assert from 'node:assert/strict';

import * as tf from '@tensorflow/tfjs';

/** Deterministic values in [-1, 1) (a tiny LCG, so tests need no tfjs RNG). */
export function randomValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export interface Operand {
  readonly values: Float32Array;
  readonly shape: readonly number[];
}

export function operand(shape: readonly number[], seed: number): Operand {
  return { values: randomValues(shape.reduce((a, b) => a * b, 1), seed), shape };
}

/**
 * Runs `fn` on fresh tensors made from `operands` on the given backend and returns its
 * outputs as plain arrays; leaves that backend selected.
 */
export async function runOn(
  backend: string,
  operands: readonly Operand[],
  fn: (...inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(backend), `backend ${backend} could not be selected`);
  const inputs = operands.map((o) => tf.tensor(o.values, [...o.shape]));
  try {
    const result = fn(...inputs);
    const outs = Array.isArray(result) ? result : [result];
    const values = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
    return values;
  } finally {
    tf.dispose(inputs);
  }
}

/** max |a − b| / max(1, max |b|): float32 sums in a different order differ by ~1e-7 of the scale. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, `lengths differ: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Asserts that every output of `fn` agrees between the wasm and cpu backends. */
export async function assertSameOnWasmAndCpu(
  label: string,
  operands: readonly Operand[],
  fn: (...inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  tolerance = 1e-5,
): Promise<void> {
  const wasm = await runOn('wasm', operands, fn);
  const cpu = await runOn('cpu', operands, fn);
  await tf.setBackend('wasm');
  assert.equal(wasm.length, cpu.length);
  wasm.forEach((w, i) => {
    const err = relativeError(w, cpu[i]!);
    assert.ok(err <= tolerance, `${label}: output ${i} differs from the cpu backend by ${err.toExponential(2)}`);
  });
}
