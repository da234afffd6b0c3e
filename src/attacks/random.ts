import { mulberry32, streamSeed } from '../model/init.js';

/**
 * The attacks' own random numbers (window positions and signs of the Square Attack, FAB's
 * restarts): uniform in [0, 1), the same sequence for the same seed and stream name on every
 * backend, unlike tf.random*, whose streams differ between backends.
 */
export function attackRandom(seed: number | string, stream: string): () => number {
  const base = typeof seed === 'number' ? seed >>> 0 : streamSeed(0, seed);
  return mulberry32(streamSeed(base, stream));
}

/** An integer in [lo, hi], both included. */
export function randomInt(next: () => number, lo: number, hi: number): number {
  return lo + Math.floor(next() * (hi - lo + 1));
}

/** −1 or +1 with equal chance. */
export function randomSign(next: () => number): number {
  return next() < 0.5 ? -1 : 1;
}
