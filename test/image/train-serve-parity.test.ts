import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { encodeImage } from '../../src/image/encode.js';
import type { PixelShape } from '../../src/image/decode.js';
import { decodeImage } from '../../src/server/image.js';
import { pattern, tempDir, toHwc } from './helpers.js';

/**
 * A model trained on an image folder must see, when served, exactly the pixels it was
 * trained on: the dataset loader and the service decode the same file identically.
 */
describe('image-folder training and the service preprocess alike', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  const files: string[] = [];
  before(async () => {
    ({ dir, cleanup } = await tempDir('parity'));
    await mkdir(join(dir, 'only'), { recursive: true });
    const wide: PixelShape = { channels: 3, height: 21, width: 47 };
    const tall: PixelShape = { channels: 3, height: 50, width: 19 };
    const add = async (name: string, bytes: Buffer) => {
      files.push(join(dir, 'only', name));
      await writeFile(join(dir, 'only', name), bytes);
    };
    // File names sort in the order they are added: the dataset keeps that order.
    await add('a-wide.png', await encodeImage(pattern(wide), wide, 'png'));
    await add('b-tall.jpg', await encodeImage(pattern(tall), tall, 'jpeg'));
    await add('c-turned.webp', await encodeImage(pattern(wide), wide, 'webp', { orientation: 8 }));
    const rgba = new Uint8Array(20 * 30 * 4).map((_, i) => (i % 4 === 3 ? (i * 13) % 256 : (i * 7) % 256));
    await add('d-alpha.png', await sharp(Buffer.from(rgba), { raw: { width: 30, height: 20, channels: 4 } }).png().toBuffer());
  });
  after(() => cleanup());

  for (const shape of [{ channels: 3, height: 16, width: 16 }, { channels: 1, height: 12, width: 10 }] as const) {
    it(`gives identical ${shape.channels}-channel ${shape.width} × ${shape.height} pixels`, async () => {
      const ds = await loadImageFolder({ split: 'train', dataDir: dir, shape });
      assert.equal(ds.count, files.length);
      const size = shape.channels * shape.height * shape.width;
      for (const [n, file] of files.entries()) {
        const served = await decodeImage(await readFile(file), shape, { maxInputPixels: 1e6, source: file });
        const trained = ds.images.subarray(n * size, (n + 1) * size);
        assert.deepEqual(toHwc(served, shape), trained, file);
        assert.ok(trained.some((v) => v > 0) && trained.some((v) => v < 1), `${file} decodes to real content`);
      }
    });
  }
});
