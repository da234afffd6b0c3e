import sharp from 'sharp';
import { DataError } from './errors.js';
import type { ImageShape } from './types.js';

/** File extensions decoded as images; anything else in a class folder is ignored. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif'];

/**
 * Decodes one image file into HWC float32 pixels in [0, 1] of the given shape. The image
 * is scaled so it covers the target and centre-cropped (aspect ratio kept), transparent
 * pixels are flattened onto black (Fashion-MNIST's background), animated images give their
 * first frame, and colour is converted to grey or sRGB as the shape asks.
 */
export async function decodeImageFile(file: string, shape: ImageShape): Promise<Float32Array> {
  let data: Buffer;
  let channels: number;
  try {
    const result = await sharp(file, { failOn: 'error' })
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .resize(shape.width, shape.height, { fit: 'cover', position: 'centre' })
      .toColourspace(shape.channels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    data = result.data;
    channels = result.info.channels;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new DataError('DATA_UNDECODABLE_IMAGE', `cannot decode image ${file}: ${reason}`, file);
  }
  const pixels = shape.height * shape.width;
  if (data.length !== pixels * channels) {
    throw new DataError(
      'DATA_UNDECODABLE_IMAGE',
      `decoding ${file} gave ${data.length} bytes, expected ${pixels}×${channels} for ${shape.width}×${shape.height}`,
      file,
    );
  }
  const out = new Float32Array(pixels * shape.channels);
  for (let p = 0; p < pixels; p++) {
    if (shape.channels === channels) {
      for (let c = 0; c < channels; c++) out[p * channels + c] = (data[p * channels + c] ?? 0) / 255;
    } else if (shape.channels === 1) {
      // Rec. 601 luma, as libvips uses for b-w.
      const r = data[p * channels] ?? 0;
      const g = data[p * channels + 1] ?? r;
      const b = data[p * channels + 2] ?? r;
      out[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    } else {
      const v = (data[p * channels] ?? 0) / 255;
      out[3 * p] = v;
      out[3 * p + 1] = v;
      out[3 * p + 2] = v;
    }
  }
  return out;
}
