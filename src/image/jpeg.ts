import sharp from 'sharp';

/**
 * Encodes NHWC float pixels in [0, 1] as baseline JPEG at `quality` and decodes them back:
 * the loss a camera pipeline or a re-upload applies. Each image is one JPEG of its own, so
 * blocks never straddle two images.
 */
export async function jpegRoundTrip(
  images: Float32Array,
  count: number,
  shape: { readonly height: number; readonly width: number; readonly channels: 1 | 3 },
  quality: number | ((index: number) => number),
): Promise<Float32Array> {
  const { height, width, channels } = shape;
  const size = height * width * channels;
  const out = new Float32Array(count * size);
  await Promise.all(
    Array.from({ length: count }, async (_, n) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, images[n * size + i]!)) * 255);
      const q = Math.max(1, Math.min(100, Math.round(typeof quality === 'number' ? quality : quality(n))));
      const jpeg = await sharp(bytes, { raw: { width, height, channels } }).jpeg({ quality: q }).toBuffer();
      let decoded = sharp(jpeg);
      decoded = channels === 1 ? decoded.toColourspace('b-w') : decoded.removeAlpha();
      const { data, info } = await decoded.raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== channels || info.width !== width || info.height !== height) {
        throw new Error(`JPEG round trip returned ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×${channels}`);
      }
      for (let i = 0; i < size; i++) out[n * size + i] = data[i]! / 255;
    }),
  );
  return out;
}
