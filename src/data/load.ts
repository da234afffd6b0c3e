import { NO_AUGMENTATION, type AugmentConfig } from './augment.js';
import { CIFAR10_DEFAULT_DIR, loadCifar10 } from './cifar10.js';
import { DataError } from './errors.js';
import { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist } from './fashion-mnist.js';
import { loadImageFolder } from './image-folder.js';
import { DATASET_NAMES, type Dataset, type DatasetName, type ImageShape, type LoadOptions } from './types.js';

export interface DatasetInfo {
  readonly name: DatasetName;
  /** Fixed image shape, or null when the model decides (image folders). */
  readonly shape: ImageShape | null;
  readonly defaultDataDir: string | null;
  /** L∞ budget the project trains and evaluates with by default. */
  readonly defaultEps: number;
  readonly augmentation: AugmentConfig;
}

export const DATASETS: Readonly<Record<DatasetName, DatasetInfo>> = {
  'fashion-mnist': {
    name: 'fashion-mnist',
    shape: { height: 28, width: 28, channels: 1 },
    defaultDataDir: FASHION_MNIST_DEFAULT_DIR,
    defaultEps: 0.1,
    augmentation: { pad: 2, flip: true },
  },
  cifar10: {
    name: 'cifar10',
    shape: { height: 32, width: 32, channels: 3 },
    defaultDataDir: CIFAR10_DEFAULT_DIR,
    defaultEps: 8 / 255,
    augmentation: { pad: 4, flip: true },
  },
  'image-folder': {
    name: 'image-folder',
    shape: null,
    defaultDataDir: null,
    defaultEps: 8 / 255,
    augmentation: { pad: 4, flip: true },
  },
};

export function parseDatasetName(value: string): DatasetName {
  if ((DATASET_NAMES as readonly string[]).includes(value)) return value as DatasetName;
  throw new DataError('DATA_BAD_OPTION', `unknown dataset "${value}"; valid datasets: ${DATASET_NAMES.join(', ')}`);
}

/** Augmentation for a dataset, with the crop padding scaled for image folders of any size. */
export function augmentationFor(name: DatasetName, shape: ImageShape, enabled = true): AugmentConfig {
  if (!enabled) return NO_AUGMENTATION;
  if (name === 'image-folder') return { pad: Math.max(1, Math.round(shape.height / 8)), flip: true };
  return DATASETS[name].augmentation;
}

/**
 * Loads a split of any supported dataset. `shape` is the model's input shape: image folders
 * are resized to it, fixed-shape datasets must agree with it.
 */
export async function loadDataset(name: DatasetName, options: LoadOptions): Promise<Dataset> {
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit <= 0)) {
    throw new DataError('DATA_BAD_OPTION', `limit must be a positive integer, got ${options.limit}`);
  }
  const info = DATASETS[name];
  if (info.shape !== null && options.shape !== undefined) {
    const a = info.shape;
    const b = options.shape;
    if (a.height !== b.height || a.width !== b.width || a.channels !== b.channels) {
      throw new DataError(
        'DATA_BAD_SHAPE',
        `${name} images are ${a.height}×${a.width}×${a.channels} but the model expects ${b.height}×${b.width}×${b.channels}`,
      );
    }
  }
  switch (name) {
    case 'fashion-mnist':
      return loadFashionMnist(options);
    case 'cifar10':
      return loadCifar10(options);
    case 'image-folder': {
      const shape = options.shape;
      if (shape === undefined) {
        throw new DataError('DATA_BAD_OPTION', 'the image-folder dataset needs the model input shape to resize images to');
      }
      return loadImageFolder({ ...options, shape });
    }
  }
}
