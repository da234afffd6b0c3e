import sharp from 'sharp';
import type { PixelShape } from './decode.js';
import type { ImageFormat } from './formats.js';

export interface EncodeOptions {
  /** `hwc` holds this many frames one below the other; GIF and WebP get one page each. */
  readonly frames?: number;
  /** EXIF orientation (1–8) to record (JPEG, WebP, TIFF, AVIF). */
  readonly orientation?: number;
  /** 16 writes a 16-bit PNG or TIFF. */
  readonly bitDepth?: 8 | 16;
}

/**
 * Encodes interleaved 8-bit pixels (HWC) as an image file.
 * Tests and benchmarks make their uploads and image folders with it.
 */
export async function encodeImage(hwc: Uint8Array, shape: PixelShape, format: ImageFormat, options: EncodeOptions = {}): Promise<Buffer> {
  const frames = options.frames ?? 1;
  let image = sharp(Buffer.from(hwc.buffer, hwc.byteOffset, hwc.byteLength), {
    raw: { width: shape.width, height: shape.height * frames, channels: shape.channels, pageHeight: shape.height },
  });
  if (options.orientation !== undefined) image = image.withMetadata({ orientation: options.orientation });
  if (options.bitDepth === 16) image = image.toColourspace(shape.channels === 1 ? 'grey16' : 'rgb16');
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: 95 }).toBuffer();
    case 'png':
      return image.png().toBuffer();
    case 'webp':
      return image.webp({ lossless: true }).toBuffer();
    case 'gif':
      return image.gif().toBuffer();
    case 'tiff':
      return image.tiff({ compression: 'lzw' }).toBuffer();
    case 'avif':
      return image.avif({ lossless: true }).toBuffer();
  }
}
