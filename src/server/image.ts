import sharp, { type Metadata } from 'sharp';
import { Errors, IMAGE_FORMATS } from './errors.js';

// A server sees each image once: sharp's decoded-image cache would only hold memory.
sharp.cache(false);

export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface PixelShape {
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
}

export interface DecodeOptions {
  /** Width × height above which the image is refused before any pixel is decoded. */
  readonly maxInputPixels: number;
  /** Names the image in error messages (a file name, or "the body"). */
  readonly source?: string;
}

/** sharp calls AVIF "heif" (AV1-compressed); HEIC (HEVC) is not decodable by its prebuilt libvips. */
function formatOf(meta: Metadata): string {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heic';
  return meta.format ?? 'unknown';
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
}

/**
 * Decodes an image to the model's input: NCHW float32 in [0, 1] for one image
 * (C × H × W values). The header is read first so that oversized or foreign
 * images are refused before decoding; only the first frame of an animation is used.
 * Alpha is flattened onto black; the image is stretched to H × W (no crop).
 */
export async function decodeImage(data: Buffer, shape: PixelShape, options: DecodeOptions): Promise<Float32Array> {
  const source = options.source ?? 'the image';
  if (data.length === 0) throw new Errors.EMPTY_BODY(`${source} is empty`);
  const input = (limitInputPixels: number | false) => sharp(data, { limitInputPixels, failOn: 'warning', sequentialRead: true, pages: 1 });

  let meta: Metadata;
  try {
    // Reads the header only; the pixel limit is checked here so the message can name the size.
    meta = await input(false).metadata();
  } catch (error) {
    const message = messageOf(error);
    if (/unsupported image format/i.test(message)) throw new Errors.NOT_AN_IMAGE(source);
    throw new Errors.CORRUPT_IMAGE(source, message);
  }
  const format = formatOf(meta);
  if (!(IMAGE_FORMATS as readonly string[]).includes(format)) throw new Errors.UNSUPPORTED_IMAGE_FORMAT(source, format);
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width * height > options.maxInputPixels) {
    throw new Errors.IMAGE_TOO_LARGE(source, width, height, options.maxInputPixels);
  }

  let pixels: Buffer;
  let channels: number;
  try {
    // Each libvips step costs a noticeable fraction of a millisecond even on tiny
    // images, so only the steps this image needs are taken.
    let pipeline = input(options.maxInputPixels);
    if ((meta.orientation ?? 1) > 1) pipeline = pipeline.rotate();
    if (meta.hasAlpha) pipeline = pipeline.flatten({ background: { r: 0, g: 0, b: 0 } });
    if (width !== shape.width || height !== shape.height) {
      pipeline = pipeline.resize({ width: shape.width, height: shape.height, fit: 'fill' });
    }
    const space = shape.channels === 1 ? 'b-w' : 'srgb';
    if (meta.space !== space || meta.depth !== 'uchar' || meta.hasAlpha || meta.channels !== shape.channels) {
      pipeline = shape.channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb').removeAlpha();
    }
    const result = await pipeline.raw().toBuffer({ resolveWithObject: true });
    pixels = result.data;
    channels = result.info.channels;
  } catch (error) {
    const message = messageOf(error);
    if (/pixel limit/i.test(message)) throw new Errors.IMAGE_TOO_LARGE(source, width, height, options.maxInputPixels);
    throw new Errors.CORRUPT_IMAGE(source, message);
  }
  if (channels !== shape.channels || pixels.length !== shape.channels * shape.height * shape.width) {
    throw new Errors.CORRUPT_IMAGE(source, `decoded to ${channels} channels, expected ${shape.channels}`);
  }
  return toPlanar(pixels, shape);
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

export interface EncodeOptions {
  /** `hwc` holds this many frames one below the other; GIF and WebP get one page each. */
  readonly frames?: number;
  /** EXIF orientation (1–8) to record (JPEG, WebP, TIFF, AVIF). */
  readonly orientation?: number;
  /** 16 writes a 16-bit PNG or TIFF. */
  readonly bitDepth?: 8 | 16;
}

/** Encodes interleaved 8-bit pixels (HWC) as an image file; tests and benchmarks make their uploads with it. */
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
