import { decodePixels, type PixelShape } from '../image/decode.js';
import { ImageDecodeError } from '../image/errors.js';
import { Errors } from './errors.js';

export { encodeImage, type EncodeOptions } from '../image/encode.js';
export type { ImageFormat } from '../image/formats.js';
export type { PixelShape } from '../image/decode.js';

export interface DecodeOptions {
  /** Width × height above which the image is refused before any pixel is decoded. */
  readonly maxInputPixels: number;
  /** Names the image in error messages (a file name, or "the body"). */
  readonly source?: string;
}

/** The service's error for each way decoding fails (codes and statuses in docs/errors.md). */
function serviceError(error: ImageDecodeError, source: string): Error {
  switch (error.kind) {
    case 'empty':
      return new Errors.EMPTY_BODY(`No image in the request: ${source} is empty`);
    case 'not-an-image':
      return new Errors.NOT_AN_IMAGE(source);
    case 'unsupported-format':
      return new Errors.UNSUPPORTED_IMAGE_FORMAT(source, error.format ?? 'unknown');
    case 'too-large':
      return new Errors.IMAGE_TOO_LARGE(source, error.width ?? 0, error.height ?? 0, error.limit ?? 0);
    case 'corrupt':
      return new Errors.CORRUPT_IMAGE(source, error.reason ?? error.message);
    case 'unreadable':
      // Only file paths are unreadable; the service decodes bytes it holds.
      return new Errors.INTERNAL(`${source}: ${error.message}`);
  }
}

/**
 * Decodes an uploaded image to the model's input: NCHW float32 in [0, 1] for one image
 * (C × H × W values), preprocessed exactly as image folders are for training (see
 * src/image/decode.ts: scaled to cover H × W and centre-cropped). Failures are the
 * service's errors, naming `source`.
 */
export async function decodeImage(data: Buffer, shape: PixelShape, options: DecodeOptions): Promise<Float32Array> {
  const source = options.source ?? 'the image';
  try {
    return await decodePixels(data, shape, { layout: 'chw', maxInputPixels: options.maxInputPixels });
  } catch (error) {
    throw error instanceof ImageDecodeError ? serviceError(error, source) : error;
  }
}
