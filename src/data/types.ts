/** Images as the models consume them: NHWC float32 pixels in [0, 1], integer labels. */
export interface ImageShape {
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
}

export interface Dataset {
  /** Dataset name, e.g. `fashion-mnist`, `cifar10` or `image-folder`. */
  readonly name: string;
  readonly split: Split;
  readonly shape: ImageShape;
  /** count × height × width × channels values, NHWC, in [0, 1]. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly labelNames: readonly string[];
  /** Records or files left out because they were corrupt (only with `skipCorrupt`). */
  readonly skipped: number;
  /** What was skipped and why, one line per file or record run. */
  readonly skippedDetails: readonly string[];
}

export type Split = 'train' | 'test';

export type DatasetName = 'fashion-mnist' | 'cifar10' | 'image-folder';

export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', 'cifar10', 'image-folder'];

export interface LoadOptions {
  readonly split: Split;
  /** Directory holding the dataset's files; each dataset has its own default. */
  readonly dataDir?: string;
  /** Keep only the first `limit` examples of the split (smoke runs, tests). */
  readonly limit?: number;
  /** Skip corrupt records or files and count them instead of failing. */
  readonly skipCorrupt?: boolean;
  /** Image folders only: the shape images are resized and converted to. */
  readonly shape?: ImageShape;
}

export function pixelsPerImage(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}
