import { decodePixels } from '../image/decode.js';
import { ImageDecodeError } from '../image/errors.js';
import { DataError } from './errors.js';
import type { ImageShape } from './types.js';

/** File extensions decoded as images; anything else in a class folder is ignored. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif'];

/**
 * Decodes one image file into HWC float32 pixels in [0, 1] of the given shape, with the
 * preprocessing the service applies to uploads (src/image/decode.ts): scaled to cover the
 * shape and centre-cropped, EXIF orientation applied, transparency flattened onto black,
 * first frame only, grey or sRGB as the shape asks. Any failure is DATA_UNDECODABLE_IMAGE
 * naming the file.
 */
export async function decodeImageFile(file: string, shape: ImageShape): Promise<Float32Array> {
  try {
    return await decodePixels(file, shape, { layout: 'hwc' });
  } catch (err) {
    if (!(err instanceof ImageDecodeError)) throw err;
    throw new DataError('DATA_UNDECODABLE_IMAGE', `cannot decode image ${file}: ${err.message}`, file);
  }
}
