import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PixelShape } from '../../src/image/decode.js';
import { ImageDecodeError, type ImageDecodeFailure } from '../../src/image/errors.js';

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `awnet-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Interleaved pixels whose left, middle and right thirds (by column) have the given values,
 * one value per channel: tells a centre crop from a stretch.
 */
export function thirds(width: number, height: number, values: readonly [readonly number[], readonly number[], readonly number[]]): Uint8Array {
  const channels = values[0].length;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const third = values[Math.min(2, Math.floor((3 * x) / width))]!;
      out.set(third, (y * width + x) * channels);
    }
  }
  return out;
}

/** A smooth pattern that differs in every pixel and channel (lossless formats keep it exactly). */
export function pattern(shape: PixelShape): Uint8Array {
  const out = new Uint8Array(shape.height * shape.width * shape.channels);
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + Math.floor(i / 7) * 11) % 256;
  return out;
}

/** Planar CHW → interleaved HWC. */
export function toHwc(chw: Float32Array, shape: PixelShape): Float32Array {
  const plane = shape.height * shape.width;
  const out = new Float32Array(chw.length);
  for (let i = 0; i < plane; i++) for (let c = 0; c < shape.channels; c++) out[i * shape.channels + c] = chw[c * plane + i]!;
  return out;
}

export async function rejectsWithKind(promise: Promise<unknown>, kind: ImageDecodeFailure, pattern?: RegExp): Promise<ImageDecodeError> {
  let caught: ImageDecodeError | undefined;
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageDecodeError, String(error));
    assert.equal(error.kind, kind, error.message);
    if (pattern) assert.match(error.message, pattern);
    caught = error;
    return true;
  });
  return caught!;
}
