/**
 * Deterministic initial values. Each variable draws from its own stream, seeded by the model
 * seed and the variable's stable name, so adding a layer never changes the others' values and
 * the result does not depend on the tfjs backend.
 */

/** 32-bit FNV-1a of the name, mixed with the seed. */
export function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i += 1) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.imul(seed >>> 16, 0x9e3779b1);
  return h >>> 0;
}

/** mulberry32: a small, fast generator of uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n draws from N(0, std²) by Box–Muller. */
export function normalValues(n: number, std: number, seed: number, name: string): Float32Array {
  const next = mulberry32(streamSeed(seed, name));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - next(); // (0, 1]: log stays finite
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** n draws from U(−limit, limit). */
export function uniformValues(n: number, limit: number, seed: number, name: string): Float32Array {
  const next = mulberry32(streamSeed(seed, name));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 1) out[i] = (2 * next() - 1) * limit;
  return out;
}

/** He-normal for a conv kernel [kh, kw, cin, cout]: std = sqrt(2 / (kh·kw·cin)). */
export function heNormal(shape: readonly [number, number, number, number], seed: number, name: string): Float32Array {
  const [kh, kw, cin, cout] = shape;
  return normalValues(kh * kw * cin * cout, Math.sqrt(2 / (kh * kw * cin)), seed, name);
}

/** Glorot-uniform for a dense kernel [in, out]. */
export function glorotUniform(inFeatures: number, outFeatures: number, seed: number, name: string): Float32Array {
  return uniformValues(inFeatures * outFeatures, Math.sqrt(6 / (inFeatures + outFeatures)), seed, name);
}
