import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { encodeImage } from '../../src/image/encode.js';
import type { ImageFormat } from '../../src/image/formats.js';
import { repoRoot } from '../../src/server/repo-root.js';

/**
 * The sample images the README and docs/api.md upload: Fashion-MNIST test images, encoded by
 * the project's own encoder. `node dist/test/readme/samples.js` writes them again.
 */
export interface Sample {
  readonly file: string;
  /** Index in the Fashion-MNIST test set. */
  readonly index: number;
  readonly format: ImageFormat;
  readonly label: string;
}

export const SAMPLES: readonly Sample[] = [
  { file: 'docs/examples/shoe.png', index: 9, format: 'png', label: 'Sneaker' },
  { file: 'docs/examples/shirt.jpg', index: 7, format: 'jpeg', label: 'Shirt' },
];

export const SAMPLE_SHAPE = { channels: 1, height: 28, width: 28 } as const;

/** The 8-bit pixels of a Fashion-MNIST test image, as the dataset file holds them. */
export async function testImagePixels(index: number): Promise<Uint8Array> {
  const test = await loadFashionMnist({ split: 'test', limit: index + 1 });
  const size = SAMPLE_SHAPE.height * SAMPLE_SHAPE.width;
  return Uint8Array.from(test.images.subarray(index * size, (index + 1) * size), (v) => Math.round(v * 255));
}

export async function writeSamples(root = repoRoot()): Promise<void> {
  for (const sample of SAMPLES) {
    const file = path.join(root, sample.file);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, await encodeImage(await testImagePixels(sample.index), SAMPLE_SHAPE, sample.format));
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await writeSamples();
