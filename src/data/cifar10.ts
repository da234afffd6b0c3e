import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from './errors.js';
import { findFile, readBytes, requireDirectory } from './files.js';
import type { Dataset, LoadOptions } from './types.js';

/** Relative to the working directory: no CIFAR-10 copy ships with the system. */
export const CIFAR10_DEFAULT_DIR = 'data/cifar-10-batches-bin';

export const CIFAR10_LABELS: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

const SIDE = 32;
const PLANE = SIDE * SIDE;
/** One label byte, then 1024 red, 1024 green and 1024 blue bytes, each plane row-major. */
export const CIFAR10_RECORD_BYTES = 1 + 3 * PLANE;

const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const TEST_FILES = ['test_batch.bin'];

/** Label names from `batches.meta.txt` when present (one per line), else the standard ten. */
async function readLabelNames(dir: string): Promise<readonly string[]> {
  let text: string;
  try {
    text = await readFile(join(dir, 'batches.meta.txt'), 'utf8');
  } catch {
    return CIFAR10_LABELS;
  }
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return names.length === CIFAR10_LABELS.length ? names : CIFAR10_LABELS;
}

export async function loadCifar10(options: LoadOptions): Promise<Dataset> {
  const dir = options.dataDir ?? CIFAR10_DEFAULT_DIR;
  const skipCorrupt = options.skipCorrupt ?? false;
  await requireDirectory(dir, `the CIFAR-10 binary files (${[...TRAIN_FILES, ...TEST_FILES].join(', ')})`);
  const names = options.split === 'train' ? TRAIN_FILES : TEST_FILES;
  const labelNames = await readLabelNames(dir);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;

  const chunks: { bytes: Buffer; records: number[] }[] = [];
  const skippedDetails: string[] = [];
  let skipped = 0;
  let total = 0;
  for (const name of names) {
    if (total >= limit) break;
    const file = await findFile([join(dir, name)], `CIFAR-10 ${options.split} batch ${name}`);
    const bytes = await readBytes(file);
    const remainder = bytes.length % CIFAR10_RECORD_BYTES;
    if (remainder !== 0) {
      if (!skipCorrupt) {
        throw new DataError(
          'DATA_BAD_RECORD_SIZE',
          `${file} is ${bytes.length} bytes, not a whole number of ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 records (${remainder} bytes left over)`,
          file,
        );
      }
      skipped++;
      skippedDetails.push(`${file}: ${remainder} trailing bytes of an incomplete record`);
    }
    const records: number[] = [];
    let badLabels = 0;
    const count = Math.floor(bytes.length / CIFAR10_RECORD_BYTES);
    for (let r = 0; r < count && total + records.length < limit; r++) {
      const label = bytes[r * CIFAR10_RECORD_BYTES] ?? 0;
      if (label >= labelNames.length) {
        if (!skipCorrupt) {
          throw new DataError(
            'DATA_BAD_LABEL',
            `${file} record ${r} has label ${label}; CIFAR-10 labels are 0–${labelNames.length - 1}`,
            file,
          );
        }
        badLabels++;
        continue;
      }
      records.push(r);
    }
    if (badLabels > 0) {
      skipped += badLabels;
      skippedDetails.push(`${file}: ${badLabels} records with labels outside 0–${labelNames.length - 1}`);
    }
    chunks.push({ bytes, records });
    total += records.length;
  }
  if (total === 0) {
    throw new DataError('DATA_EMPTY', `no usable CIFAR-10 ${options.split} records in ${dir}`, dir);
  }

  const images = new Float32Array(total * 3 * PLANE);
  const labels = new Int32Array(total);
  let n = 0;
  for (const { bytes, records } of chunks) {
    for (const r of records) {
      const base = r * CIFAR10_RECORD_BYTES;
      labels[n] = bytes[base] ?? 0;
      const out = n * 3 * PLANE;
      // Planar CHW on disk → interleaved HWC in memory.
      for (let p = 0; p < PLANE; p++) {
        images[out + 3 * p] = (bytes[base + 1 + p] ?? 0) / 255;
        images[out + 3 * p + 1] = (bytes[base + 1 + PLANE + p] ?? 0) / 255;
        images[out + 3 * p + 2] = (bytes[base + 1 + 2 * PLANE + p] ?? 0) / 255;
      }
      n++;
    }
  }
  return {
    name: 'cifar10',
    split: options.split,
    shape: { height: SIDE, width: SIDE, channels: 3 },
    images,
    labels,
    count: total,
    labelNames,
    skipped,
    skippedDetails,
  };
}
