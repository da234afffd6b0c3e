import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { DataError } from './errors.js';
import { requireDirectory } from './files.js';
import { decodeImageFile, IMAGE_EXTENSIONS } from './image-decode.js';
import { pixelsPerImage, type Dataset, type ImageShape, type LoadOptions } from './types.js';

const LAYOUT =
  'one subfolder per class holding the images (<dir>/<class>/*.png|jpg|webp|gif|tiff|avif), ' +
  'or <dir>/train/<class>/… and <dir>/test/<class>/…';

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

async function imageFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort();
}

/** Runs `task` over `items` with at most `limit` in flight, results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Loads a folder of class subfolders. Class indices follow the sorted class names of the
 * training folder, so both splits agree. Files are interleaved class by class, so that
 * `limit` keeps every class represented.
 */
export async function loadImageFolder(options: LoadOptions & { readonly shape: ImageShape }): Promise<Dataset> {
  const dir = options.dataDir;
  if (dir === undefined) {
    throw new DataError('DATA_BAD_OPTION', `the image-folder dataset needs a data directory (--data-dir) holding ${LAYOUT}`);
  }
  await requireDirectory(dir, LAYOUT);
  const split = await isDirectory(join(dir, 'train'));
  if (options.split === 'test' && !split) {
    throw new DataError('DATA_DIR_NOT_FOUND', `image folder ${dir} has no test/ subfolder; the test split needs ${join(dir, 'test')}/<class>/…`, dir);
  }
  const trainRoot = split ? join(dir, 'train') : dir;
  const root = options.split === 'test' ? join(dir, 'test') : trainRoot;
  await requireDirectory(root, LAYOUT);
  const labelNames = await subfolders(trainRoot);
  if (labelNames.length === 0) {
    throw new DataError('DATA_EMPTY', `image folder ${trainRoot} has no class subfolders; expected ${LAYOUT}`, trainRoot);
  }
  const classes = await subfolders(root);
  const unknown = classes.filter((c) => !labelNames.includes(c));
  if (unknown.length > 0) {
    throw new DataError(
      'DATA_BAD_LABEL',
      `image folder ${root} has class folders ${unknown.join(', ')} that the training folder ${trainRoot} lacks (classes: ${labelNames.join(', ')})`,
      root,
    );
  }
  const perClass = await Promise.all(
    labelNames.map(async (name) => ((await isDirectory(join(root, name))) ? (await imageFiles(join(root, name))).map((f) => join(root, name, f)) : [])),
  );
  const entries: { file: string; label: number }[] = [];
  const longest = Math.max(...perClass.map((f) => f.length));
  for (let i = 0; i < longest; i++) {
    perClass.forEach((files, label) => {
      const file = files[i];
      if (file !== undefined) entries.push({ file, label });
    });
  }
  if (entries.length === 0) {
    throw new DataError('DATA_EMPTY', `image folder ${root} holds no image files (${IMAGE_EXTENSIONS.join(' ')}); expected ${LAYOUT}`, root);
  }

  const shape = options.shape;
  const size = pixelsPerImage(shape);
  const limit = options.limit ?? entries.length;
  const kept: { pixels: Float32Array; label: number }[] = [];
  const skippedDetails: string[] = [];
  // Decode in slices so `limit` stops early and a corrupt file fails fast.
  for (let start = 0; start < entries.length && kept.length < limit; start += 64) {
    const slice = entries.slice(start, start + 64);
    const decoded = await mapLimited(slice, 4, async ({ file, label }) => {
      try {
        return { pixels: await decodeImageFile(file, shape), label };
      } catch (err) {
        if (!options.skipCorrupt || !(err instanceof DataError)) throw err;
        skippedDetails.push(err.message);
        return null;
      }
    });
    for (const d of decoded) if (d !== null && kept.length < limit) kept.push(d);
  }
  if (kept.length === 0) {
    throw new DataError('DATA_EMPTY', `no decodable images in ${root} (${skippedDetails.length} skipped as corrupt)`, root);
  }
  const images = new Float32Array(kept.length * size);
  const labels = new Int32Array(kept.length);
  kept.forEach((k, i) => {
    images.set(k.pixels, i * size);
    labels[i] = k.label;
  });
  return {
    name: 'image-folder',
    split: options.split,
    shape,
    images,
    labels,
    count: kept.length,
    labelNames,
    skipped: skippedDetails.length,
    skippedDetails,
  };
}
