import type { Metadata } from 'sharp';

/** The formats decoded for training and serving; anything else is refused by name. */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const;

export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export function isImageFormat(format: string): format is ImageFormat {
  return (IMAGE_FORMATS as readonly string[]).includes(format);
}

/** sharp calls AVIF "heif" (AV1-compressed); HEIC (HEVC) is not decodable by its prebuilt libvips. */
export function formatOf(meta: Metadata): string {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heic';
  return meta.format ?? 'unknown';
}
