import { randomInt } from 'node:crypto';
import { fmix32 } from '../../data/rng.js';

/**
 * Parameters of the fingerprint, after Blacklight (Li et al., USENIX Security 2022): pixels
 * quantised to steps of 50/255, every run of WINDOW consecutive quantised values hashed, and
 * the HASHES smallest distinct hashes kept. Two images sharing at least MATCH of them are near
 * duplicates. docs/query-attacks.md gives the measurements behind these values.
 */
export const STEP = 50;
export const QUANTUM = STEP / 255;
export const WINDOW = 20;
export const HASHES = 32;
export const MATCH = 16;

/** A compact summary of one image: enough to tell near duplicates, too little to rebuild it. */
export interface Fingerprint {
  /** At most HASHES distinct window hashes, ascending. */
  readonly sketch: Uint32Array;
  /** Hash of the whole image on the 8-bit grid: equal for exact repeats. */
  readonly exact: number;
}

// A multiplier with good avalanche in the rolling hash (odd, so invertible mod 2^32).
const BASE = 0x01000193;
const BASE_POW_WINDOW = (() => {
  let p = 1;
  for (let i = 0; i < WINDOW; i++) p = Math.imul(p, BASE);
  return p;
})();

/** murmur3's finaliser: spreads the rolling hash over all 32 bits before the bottom-k cut. */
function mix(h: number, seed: number): number {
  return fmix32(h ^ seed);
}

/** Inserts h into the ascending sketch unless present or too large; returns the new length. */
function keep(sketch: Uint32Array, length: number, h: number): number {
  if (length === sketch.length && h >= sketch[length - 1]!) return length;
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sketch[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  if (lo < length && sketch[lo] === h) return length;
  const end = Math.min(length, sketch.length - 1);
  sketch.copyWithin(lo + 1, lo, end);
  sketch[lo] = h;
  return Math.min(length + 1, sketch.length);
}

/**
 * Fingerprints images in [0, 1] (any layout; the model input as decoded). The seed is secret
 * and per process, so that nobody can craft images whose hashes collide or miss on purpose.
 */
export class Fingerprinter {
  constructor(private readonly seed: number = randomInt(0, 2 ** 31)) {}

  of(pixels: Float32Array): Fingerprint {
    const n = pixels.length;
    const q = new Uint8Array(n);
    let exact = 0x811c9dc5 ^ this.seed;
    for (let i = 0; i < n; i++) {
      // On the 8-bit grid first, as Blacklight quantises bytes: a pixel on a step's edge
      // falls on the same side whatever float rounding the decoder did.
      const byte = Math.round(Math.min(Math.max(pixels[i]!, 0), 1) * 255);
      q[i] = Math.floor(byte / STEP) + 1;
      exact = Math.imul(exact ^ byte, 0x01000193);
    }
    const sketch = new Uint32Array(HASHES);
    let length = 0;
    const w = Math.min(WINDOW, n);
    let h = 0;
    for (let i = 0; i < w; i++) h = (Math.imul(h, BASE) + q[i]!) | 0;
    length = keep(sketch, length, mix(h, this.seed));
    // Rolling: drop the value leaving the window, add the one entering it.
    const drop = w === WINDOW ? BASE_POW_WINDOW : 0;
    for (let i = w; i < n; i++) {
      h = (Math.imul(h, BASE) - Math.imul(q[i - w]!, drop) + q[i]!) | 0;
      length = keep(sketch, length, mix(h, this.seed));
    }
    return { sketch: sketch.slice(0, length), exact: exact >>> 0 };
  }
}

/** Hashes two ascending sketches have in common. */
export function overlap(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return common;
}

/** Hashes a remembered sketch must share with `sketch` to make it a near duplicate (fewer for a short sketch). */
export function matchNeeded(sketch: Uint32Array): number {
  return Math.min(MATCH, sketch.length);
}

/** Whether two ascending sketches are the same: with equal `exact` hashes, the same image. */
export function sameSketch(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
