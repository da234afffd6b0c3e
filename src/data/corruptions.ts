import { jpegRoundTrip } from '../image/jpeg.js';
import type { Rng } from './rng.js';
import type { ImageShape } from './types.js';

/**
 * Benign changes an image meets in production (sensor noise, re-encoding, focus, lighting).
 * They are not attacks: the router should call them clean and the classifier should still
 * be right. `amount` is the change's one parameter:
 * - uniform: half-width a of i.i.d. noise U(−a, a) per pixel
 * - gaussian: standard deviation σ of i.i.d. N(0, σ²) noise
 * - sign: magnitude a of i.i.d. ±a noise (a random, not a gradient, sign pattern)
 * - jpeg: JPEG quality (1–100) of an encode/decode round trip
 * - blur: σ in pixels of a Gaussian blur (kernel radius ⌈3σ⌉, edges replicated)
 * - brightness: factor on every pixel
 * - contrast: factor on the distance of every pixel from the image's mean
 * Results are clipped to [0, 1].
 */
export type CorruptionKind = 'uniform' | 'gaussian' | 'sign' | 'jpeg' | 'blur' | 'brightness' | 'contrast' | 'offset';

export const CORRUPTION_KINDS: readonly CorruptionKind[] = ['uniform', 'gaussian', 'sign', 'jpeg', 'blur', 'brightness', 'contrast', 'offset'];

export interface Corruption {
  readonly kind: CorruptionKind;
  readonly amount: number;
}

/** One evaluated setting: a stable id, a heading and the change. */
export interface BenignSetting {
  readonly id: string;
  readonly label: string;
  readonly corruption: Corruption;
}

/** The fixed settings `evaluate` reports, at attack radius eps. */
export function benignEvaluationSet(eps: number): BenignSetting[] {
  const e = Number(eps.toPrecision(4));
  const half = Number((eps / 2).toPrecision(4));
  return [
    { id: 'uniform-eps', label: `uniform ±${e}`, corruption: { kind: 'uniform', amount: eps } },
    { id: 'uniform-half-eps', label: `uniform ±${half}`, corruption: { kind: 'uniform', amount: eps / 2 } },
    { id: 'gaussian-0.05', label: 'Gaussian σ 0.05', corruption: { kind: 'gaussian', amount: 0.05 } },
    { id: 'sign-0.03', label: 'sign ±0.03', corruption: { kind: 'sign', amount: 0.03 } },
    { id: 'jpeg-40', label: 'JPEG q40', corruption: { kind: 'jpeg', amount: 40 } },
    { id: 'blur-0.7', label: 'blur σ 0.7', corruption: { kind: 'blur', amount: 0.7 } },
    { id: 'brightness-0.8', label: 'brightness ×0.8', corruption: { kind: 'brightness', amount: 0.8 } },
    { id: 'contrast-0.7', label: 'contrast ×0.7', corruption: { kind: 'contrast', amount: 0.7 } },
  ];
}

/**
 * The training distribution of benign changes (deliberately wider than, and not equal to,
 * the evaluation settings): a kind drawn uniformly from `kinds`, then its amount uniformly from
 * - uniform a ∈ [0, 2.5·eps] (inside and beyond the eps-ball), gaussian σ ∈ [0.01, 0.12],
 *   sign a ∈ [0, eps], jpeg quality ∈ [20, 95], blur σ ∈ [0.3, 1.2],
 *   brightness ∈ [0.6, 1.3], contrast ∈ [0.5, 1.3], offset b ∈ [−0.1, 0.15] (x + b: a shifted
 *   black level, which lifts a dark background as evenly as a contrast cut does — and as an
 *   attack's +eps on dark pixels does, so the router must learn that an even lift is benign).
 */
export function sampleBenign(rng: Rng, eps: number, kinds: readonly CorruptionKind[] = CORRUPTION_KINDS): Corruption {
  const kind = kinds[rng.int(kinds.length)]!;
  const u = rng.next();
  const between = (lo: number, hi: number): number => lo + u * (hi - lo);
  switch (kind) {
    case 'uniform':
      return { kind, amount: between(0, 2.5 * eps) };
    case 'gaussian':
      return { kind, amount: between(0.01, 0.12) };
    case 'sign':
      return { kind, amount: between(0, eps) };
    case 'jpeg':
      return { kind, amount: Math.round(between(20, 95)) };
    case 'blur':
      return { kind, amount: between(0.3, 1.2) };
    case 'brightness':
      return { kind, amount: between(0.6, 1.3) };
    case 'contrast':
      return { kind, amount: between(0.5, 1.3) };
    case 'offset':
      return { kind, amount: between(-0.1, 0.15) };
  }
}

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** A standard normal draw (Box–Muller; two uniforms per draw keeps the stream simple). */
function normal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

function blurImage(img: Float32Array, shape: ImageShape, sigma: number): Float32Array {
  const { height: h, width: w, channels: c } = shape;
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((s, v) => s + v, 0);
  const k = kernel.map((v) => v / total);
  const tmp = new Float32Array(img.length);
  const out = new Float32Array(img.length);
  const clampIdx = (v: number, n: number): number => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let d = -radius; d <= radius; d++) s += k[d + radius]! * img[(y * w + clampIdx(x + d, w)) * c + ch]!;
        tmp[(y * w + x) * c + ch] = s;
      }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let d = -radius; d <= radius; d++) s += k[d + radius]! * tmp[(clampIdx(y + d, h) * w + x) * c + ch]!;
        out[(y * w + x) * c + ch] = s;
      }
  return out;
}

/** Applies a pixel-wise (non-JPEG) corruption to one image in place. */
function corruptInPlace(img: Float32Array, shape: ImageShape, corruption: Corruption, rng: Rng): void {
  const a = corruption.amount;
  switch (corruption.kind) {
    case 'uniform':
      for (let i = 0; i < img.length; i++) img[i] = clip01(img[i]! + (2 * rng.next() - 1) * a);
      return;
    case 'gaussian':
      for (let i = 0; i < img.length; i++) img[i] = clip01(img[i]! + normal(rng) * a);
      return;
    case 'sign':
      for (let i = 0; i < img.length; i++) img[i] = clip01(img[i]! + (rng.next() < 0.5 ? -a : a));
      return;
    case 'blur':
      img.set(blurImage(img, shape, a));
      return;
    case 'brightness':
      for (let i = 0; i < img.length; i++) img[i] = clip01(img[i]! * a);
      return;
    case 'contrast': {
      let mean = 0;
      for (const v of img) mean += v;
      mean /= img.length;
      for (let i = 0; i < img.length; i++) img[i] = clip01(mean + (img[i]! - mean) * a);
      return;
    }
    case 'offset':
      for (let i = 0; i < img.length; i++) img[i] = clip01(img[i]! + a);
      return;
    case 'jpeg':
      throw new Error('JPEG is applied batch-wise by corruptBatch');
  }
}

/**
 * Returns a corrupted copy of a batch of NHWC images. `pick(n)` chooses image n's change
 * (null: left as it is); random noise is drawn from `rng` in image order, so the same
 * generator state gives the same batch.
 */
export async function corruptBatch(
  images: Float32Array,
  count: number,
  shape: ImageShape,
  pick: (index: number) => Corruption | null,
  rng: Rng,
): Promise<Float32Array> {
  const size = shape.height * shape.width * shape.channels;
  if (images.length < count * size) {
    throw new RangeError(`corruptBatch: ${images.length} values cannot hold ${count} images of ${shape.height}×${shape.width}×${shape.channels}`);
  }
  const out = images.slice(0, count * size);
  const jpeg: { index: number; quality: number }[] = [];
  for (let n = 0; n < count; n++) {
    const c = pick(n);
    if (c === null) continue;
    if (c.kind === 'jpeg') jpeg.push({ index: n, quality: c.amount });
    else corruptInPlace(out.subarray(n * size, (n + 1) * size), shape, c, rng);
  }
  if (jpeg.length > 0) {
    const gathered = new Float32Array(jpeg.length * size);
    jpeg.forEach((j, i) => gathered.set(out.subarray(j.index * size, (j.index + 1) * size), i * size));
    const encoded = await jpegRoundTrip(gathered, jpeg.length, shape, (i) => jpeg[i]!.quality);
    jpeg.forEach((j, i) => out.set(encoded.subarray(i * size, (i + 1) * size), j.index * size));
  }
  return out;
}
