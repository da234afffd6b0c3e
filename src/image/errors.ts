import { IMAGE_FORMATS } from './formats.js';

/**
 * Why an image could not be decoded. Callers map these to their own errors (the service to
 * HTTP error codes, datasets to DataError), so the kinds are stable and the details typed.
 */
export type ImageDecodeFailure = 'empty' | 'unreadable' | 'not-an-image' | 'unsupported-format' | 'too-large' | 'corrupt';

export interface ImageDecodeDetails {
  /** The format found in the header ('unsupported-format'). */
  readonly format?: string;
  /** Width and height claimed by the header, and the pixel limit they exceed ('too-large'). */
  readonly width?: number;
  readonly height?: number;
  readonly limit?: number;
  /** The decoder's or file system's first line of explanation ('corrupt', 'unreadable'). */
  readonly reason?: string;
}

const FORMATS = IMAGE_FORMATS.join(', ');

function describe(kind: ImageDecodeFailure, d: ImageDecodeDetails): string {
  switch (kind) {
    case 'empty':
      return 'empty input (0 bytes)';
    case 'unreadable':
      return `the file cannot be read (${d.reason ?? 'unknown error'})`;
    case 'not-an-image':
      return `not an image in a known format; decodable formats: ${FORMATS}`;
    case 'unsupported-format':
      return `a ${d.format ?? 'unknown'} image; decodable formats: ${FORMATS}`;
    case 'too-large':
      return `${d.width ?? '?'} x ${d.height ?? '?'} pixels, more than the limit of ${d.limit ?? '?'} pixels`;
    case 'corrupt':
      return `truncated or corrupt (${d.reason ?? 'unknown error'})`;
  }
}

export class ImageDecodeError extends Error {
  readonly kind: ImageDecodeFailure;
  readonly format: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly limit: number | undefined;
  readonly reason: string | undefined;

  constructor(kind: ImageDecodeFailure, details: ImageDecodeDetails = {}) {
    super(describe(kind, details));
    this.name = 'ImageDecodeError';
    this.kind = kind;
    this.format = details.format;
    this.width = details.width;
    this.height = details.height;
    this.limit = details.limit;
    this.reason = details.reason;
  }
}

/** The first line of an error's message: libvips appends multi-line diagnostics. */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
}
