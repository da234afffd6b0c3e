import { stat } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { firstLine, ImageDecodeError } from './errors.js';
import { formatOf, isImageFormat } from './formats.js';

// Each image is decoded once (one request, or one file of a dataset): sharp's decoded-image
// cache would only hold memory.
sharp.cache(false);

export interface PixelShape {
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
}

/** `chw`: planar, as the ONNX model reads one image; `hwc`: interleaved, as tfjs (NHWC) reads it. */
export type PixelLayout = 'chw' | 'hwc';

/** sharp's own default pixel limit (0x3FFF²), used when the caller sets none. */
export const DEFAULT_MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

export interface DecodeOptions {
  readonly layout: PixelLayout;
  /** Width × height above which the image is refused from its header, before any pixel is decoded. */
  readonly maxInputPixels?: number;
}

/** A path is checked before sharp opens it, so a missing or empty file gets its own kind. */
async function checkFile(path: string): Promise<void> {
  let size: number;
  try {
    const info = await stat(path);
    size = info.isFile() ? info.size : -1;
  } catch (error) {
    throw new ImageDecodeError('unreadable', { reason: firstLine(error) });
  }
  if (size < 0) throw new ImageDecodeError('unreadable', { reason: 'not a regular file' });
  if (size === 0) throw new ImageDecodeError('empty');
}

async function readHeader(image: Sharp): Promise<Metadata> {
  try {
    return await image.metadata();
  } catch (error) {
    const reason = firstLine(error);
    if (/unsupported image format/i.test(reason)) throw new ImageDecodeError('not-an-image');
    throw new ImageDecodeError('corrupt', { reason });
  }
}

/**
 * The libvips steps this image needs. Each step costs a noticeable fraction of a millisecond
 * even on tiny images, so an image already in the model's size and colour space is only decoded.
 */
function prepare(image: Sharp, meta: Metadata, shape: PixelShape, resize: boolean): Sharp {
  if ((meta.orientation ?? 1) > 1) image = image.autoOrient();
  // Black is Fashion-MNIST's background; flattening before the resize keeps edges clean.
  if (meta.hasAlpha) image = image.flatten({ background: { r: 0, g: 0, b: 0 } });
  if (resize) image = image.resize({ width: shape.width, height: shape.height, fit: 'cover', position: 'centre' });
  // sharp writes sRGB unless told otherwise, even for a one-band grey source, so a grey
  // model always names its output space.
  if (shape.channels === 1) return image.toColourspace('b-w');
  if (meta.space !== 'srgb' || meta.depth !== 'uchar' || meta.hasAlpha || meta.channels !== 3) {
    image = image.toColourspace('srgb').removeAlpha();
  }
  return image;
}

/**
 * Decodes an image (bytes or a file path) to float32 pixels in [0, 1] of the given shape: the
 * one preprocessing that training on image folders and the service share. The header is read
 * first, so foreign formats and images over the pixel limit are refused before decoding; only
 * the first frame of an animation is used; EXIF orientation is applied; transparency is
 * flattened onto black; colour is converted to grey or sRGB; and the image is scaled to cover
 * the model's height × width and centre-cropped (aspect ratio kept; an image already at that
 * size is not resampled). Failures are ImageDecodeErrors with a `kind`.
 */
export async function decodePixels(input: Buffer | string, shape: PixelShape, options: DecodeOptions): Promise<Float32Array> {
  const limit = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (typeof input === 'string') await checkFile(input);
  else if (input.length === 0) throw new ImageDecodeError('empty');
  const open = (limitInputPixels: number | false) => sharp(input, { limitInputPixels, failOn: 'warning', sequentialRead: true, pages: 1 });

  // The header pass has no limit of its own so that a refusal can name the claimed size.
  const meta = await readHeader(open(false));
  const format = formatOf(meta);
  if (!isImageFormat(format)) throw new ImageDecodeError('unsupported-format', { format });
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width * height > limit) throw new ImageDecodeError('too-large', { width, height, limit });
  // EXIF orientations 5–8 turn the image a quarter, swapping width and height.
  const [shownWidth, shownHeight] = (meta.orientation ?? 1) >= 5 ? [height, width] : [width, height];
  const resize = shownWidth !== shape.width || shownHeight !== shape.height;

  let pixels: Buffer;
  let info: OutputInfo;
  try {
    ({ data: pixels, info } = await prepare(open(limit), meta, shape, resize).raw().toBuffer({ resolveWithObject: true }));
  } catch (error) {
    const reason = firstLine(error);
    if (/pixel limit/i.test(reason)) throw new ImageDecodeError('too-large', { width, height, limit });
    throw new ImageDecodeError('corrupt', { reason });
  }
  if (info.channels !== shape.channels || pixels.length !== shape.channels * shape.height * shape.width) {
    const expected = `${shape.width} x ${shape.height} x ${shape.channels}`;
    throw new ImageDecodeError('corrupt', { reason: `decoded to ${info.width} x ${info.height} x ${info.channels}, expected ${expected}` });
  }
  return options.layout === 'chw' ? toPlanar(pixels, shape) : toFloats(pixels);
}

/** Interleaved HWC bytes → interleaved HWC floats in [0, 1]. */
function toFloats(hwc: Uint8Array): Float32Array {
  const out = new Float32Array(hwc.length);
  for (let i = 0; i < hwc.length; i++) out[i] = (hwc[i] as number) / 255;
  return out;
}

/** Interleaved HWC bytes → planar CHW floats in [0, 1]. */
function toPlanar(hwc: Uint8Array, shape: PixelShape): Float32Array {
  const { channels, height, width } = shape;
  const plane = height * width;
  const out = new Float32Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < channels; c++) out[c * plane + i] = (hwc[i * channels + c] as number) / 255;
  }
  return out;
}
