import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `awnet-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An IDX unsigned-byte file: magic 00 00 08 <ndim>, big-endian sizes, data. */
export function idxBytes(dims: readonly number[], data: Uint8Array, magicDims = dims.length): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE((0x08 << 8) | magicDims, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

export function gz(bytes: Buffer): Buffer {
  return gzipSync(bytes);
}

/** Deterministic pixel bytes: image n, pixel p → (n * 31 + p * 7) mod 256. */
export function patternPixels(count: number, perImage: number): Uint8Array {
  const out = new Uint8Array(count * perImage);
  for (let n = 0; n < count; n++) for (let p = 0; p < perImage; p++) out[n * perImage + p] = (n * 31 + p * 7) % 256;
  return out;
}

/** Incompressible deterministic bytes (an LCG), for tests that cut compressed streams. */
export function noisePixels(count: number, perImage: number, seed = 1): Uint8Array {
  const out = new Uint8Array(count * perImage);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}
