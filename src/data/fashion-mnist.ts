import { join } from 'node:path';
import { DataError } from './errors.js';
import { findFile, readMaybeGzipped, requireDirectory } from './files.js';
import { parseIdx } from './idx.js';
import type { Dataset, LoadOptions } from './types.js';

/** Where Debian's `dataset-fashion-mnist` package installs the IDX files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_LABELS: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const PREFIX = { train: 'train', test: 't10k' } as const;

function expectedFiles(): string {
  return ['train', 't10k'].flatMap((p) => [`${p}-images-idx3-ubyte.gz`, `${p}-labels-idx1-ubyte.gz`]).join(', ');
}

export async function loadFashionMnist(options: LoadOptions): Promise<Dataset> {
  const dir = options.dataDir ?? FASHION_MNIST_DEFAULT_DIR;
  const skipCorrupt = options.skipCorrupt ?? false;
  await requireDirectory(dir, `the Fashion-MNIST IDX files (${expectedFiles()})`);
  const prefix = PREFIX[options.split];
  const imageFile = await findFile(
    [join(dir, `${prefix}-images-idx3-ubyte.gz`), join(dir, `${prefix}-images-idx3-ubyte`)],
    `Fashion-MNIST ${options.split} images`,
  );
  const labelFile = await findFile(
    [join(dir, `${prefix}-labels-idx1-ubyte.gz`), join(dir, `${prefix}-labels-idx1-ubyte`)],
    `Fashion-MNIST ${options.split} labels`,
  );
  const images = parseIdx(await readMaybeGzipped(imageFile, skipCorrupt), imageFile, 3, skipCorrupt);
  const labels = parseIdx(await readMaybeGzipped(labelFile, skipCorrupt), labelFile, 1, skipCorrupt);
  const [, height = 0, width = 0] = images.dims;
  if (height !== 28 || width !== 28) {
    throw new DataError('DATA_BAD_SHAPE', `${imageFile} holds ${height}×${width} images; Fashion-MNIST images are 28×28`, imageFile);
  }
  const skippedDetails: string[] = [];
  if (images.missing > 0) skippedDetails.push(`${imageFile}: truncated, ${images.missing} records missing`);
  if (labels.missing > 0) skippedDetails.push(`${labelFile}: truncated, ${labels.missing} records missing`);
  const imageCount = images.dims[0] ?? 0;
  const labelCount = labels.dims[0] ?? 0;
  const declaredImages = imageCount + images.missing;
  const declaredLabels = labelCount + labels.missing;
  if (declaredImages !== declaredLabels) {
    throw new DataError(
      'DATA_COUNT_MISMATCH',
      `${imageFile} declares ${declaredImages} images but ${labelFile} declares ${declaredLabels} labels; the files do not belong together`,
      imageFile,
    );
  }
  const usable = Math.min(imageCount, labelCount);
  const wanted = Math.min(usable, options.limit ?? usable);
  const pixels = height * width;
  const keep: number[] = [];
  let badLabels = 0;
  for (let i = 0; i < usable && keep.length < wanted; i++) {
    const label = labels.data[i] ?? 0;
    if (label >= FASHION_MNIST_LABELS.length) {
      if (!skipCorrupt) {
        throw new DataError(
          'DATA_BAD_LABEL',
          `${labelFile} record ${i} has label ${label}; Fashion-MNIST labels are 0–${FASHION_MNIST_LABELS.length - 1}`,
          labelFile,
        );
      }
      badLabels++;
      continue;
    }
    keep.push(i);
  }
  if (badLabels > 0) skippedDetails.push(`${labelFile}: ${badLabels} records with labels outside 0–9`);
  const out = new Float32Array(keep.length * pixels);
  const outLabels = new Int32Array(keep.length);
  keep.forEach((src, dst) => {
    const from = images.data.subarray(src * pixels, (src + 1) * pixels);
    for (let p = 0; p < pixels; p++) out[dst * pixels + p] = (from[p] ?? 0) / 255;
    outLabels[dst] = labels.data[src] ?? 0;
  });
  if (keep.length === 0) {
    throw new DataError('DATA_EMPTY', `no usable Fashion-MNIST ${options.split} images in ${dir}`, imageFile);
  }
  return {
    name: 'fashion-mnist',
    split: options.split,
    shape: { height, width, channels: 1 },
    images: out,
    labels: outLabels,
    count: keep.length,
    labelNames: FASHION_MNIST_LABELS,
    skipped: declaredImages - usable + badLabels,
    skippedDetails,
  };
}
