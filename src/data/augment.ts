import type { Rng } from './rng.js';
import type { ImageShape } from './types.js';

/** Random crop after zero padding by `pad` pixels on each side, and a random horizontal flip. */
export interface AugmentConfig {
  readonly pad: number;
  readonly flip: boolean;
}

export const NO_AUGMENTATION: AugmentConfig = { pad: 0, flip: false };

/**
 * Augments a batch of NHWC images in one pass. Padding then cropping back to the same size
 * is a shift by (dy, dx) ∈ [−pad, pad]² with zeros shifted in, so no padded copy is made.
 * Draws exactly three numbers per image from `rng`, so the stream stays aligned whatever
 * the config.
 */
export function augmentBatch(images: Float32Array, count: number, shape: ImageShape, config: AugmentConfig, rng: Rng): Float32Array {
  const { height: h, width: w, channels: c } = shape;
  const size = h * w * c;
  if (images.length < count * size) {
    throw new RangeError(`augmentBatch: ${images.length} values cannot hold ${count} images of ${h}×${w}×${c}`);
  }
  const out = new Float32Array(count * size);
  const span = 2 * config.pad + 1;
  for (let n = 0; n < count; n++) {
    const dy = rng.int(span) - config.pad;
    const dx = rng.int(span) - config.pad;
    const flip = rng.next() < 0.5 && config.flip;
    const base = n * size;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        const ox = flip ? w - 1 - x : x;
        const sx = x + dx;
        if (sx < 0 || sx >= w) continue;
        const src = base + (sy * w + sx) * c;
        const dst = base + (y * w + ox) * c;
        for (let ch = 0; ch < c; ch++) out[dst + ch] = images[src + ch] as number;
      }
    }
  }
  return out;
}
