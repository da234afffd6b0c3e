import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DataError } from '../../src/data/errors.js';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { loadDataset } from '../../src/data/load.js';
import { tempDir } from './fixtures.js';

const GREY28 = { height: 28, width: 28, channels: 1 } as const;
const RGB8 = { height: 8, width: 8, channels: 3 } as const;

/** A solid-colour image in the given format (tests write their own fixtures). */
async function solid(file: string, format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff', rgb: [number, number, number], size = 40): Promise<void> {
  const img = sharp({ create: { width: size, height: size / 2, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  await img.toFormat(format, format === 'jpeg' || format === 'webp' ? { quality: 100, ...(format === 'webp' ? { lossless: true } : {}) } : {}).toFile(file);
}

function expectCode(code: string, ...fragments: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DataError, String(err));
    assert.equal(err.code, code, err.message);
    for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
    return true;
  };
}

describe('image-folder dataset', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('imgdir'));
    // flat layout: classes straight under the folder, many formats, one stray non-image file
    await mkdir(join(dir, 'flat', 'black'), { recursive: true });
    await mkdir(join(dir, 'flat', 'white'), { recursive: true });
    await solid(join(dir, 'flat', 'black', 'a.png'), 'png', [0, 0, 0]);
    await solid(join(dir, 'flat', 'black', 'b.jpg'), 'jpeg', [0, 0, 0]);
    await solid(join(dir, 'flat', 'black', 'c.gif'), 'gif', [0, 0, 0]);
    await solid(join(dir, 'flat', 'white', 'a.webp'), 'webp', [255, 255, 255]);
    await solid(join(dir, 'flat', 'white', 'b.tiff'), 'tiff', [255, 255, 255]);
    await writeFile(join(dir, 'flat', 'white', 'notes.txt'), 'not an image');
    // split layout with colours for RGB checks
    for (const split of ['train', 'test']) {
      await mkdir(join(dir, 'split', split, 'blue'), { recursive: true });
      await mkdir(join(dir, 'split', split, 'red'), { recursive: true });
      await solid(join(dir, 'split', split, 'blue', '1.png'), 'png', [0, 0, 255]);
      await solid(join(dir, 'split', split, 'red', '1.png'), 'png', [255, 0, 0]);
    }
  });
  after(() => cleanup());

  it('decodes every common format, resizes to the model shape and converts to grey', async () => {
    const ds = await loadImageFolder({ split: 'train', dataDir: join(dir, 'flat'), shape: GREY28 });
    assert.deepEqual(ds.labelNames, ['black', 'white']);
    assert.equal(ds.count, 5, 'the .txt file is ignored');
    assert.equal(ds.images.length, 5 * 28 * 28);
    // interleaved by class: black a, white a, black b, white b, black c
    assert.deepEqual([...ds.labels], [0, 1, 0, 1, 0]);
    for (let n = 0; n < ds.count; n++) {
      const px = ds.images.subarray(n * 784, (n + 1) * 784);
      const mean = px.reduce((a, b) => a + b, 0) / px.length;
      assert.ok(Math.abs(mean - ds.labels[n]!) < 0.02, `image ${n} mean ${mean} should match class ${ds.labels[n]}`);
    }
  });

  it('limit keeps every class represented', async () => {
    const ds = await loadImageFolder({ split: 'train', dataDir: join(dir, 'flat'), shape: GREY28, limit: 2 });
    assert.deepEqual([...ds.labels], [0, 1]);
  });

  it('uses train/ and test/ subfolders with the same class indices, keeping colour for RGB models', async () => {
    for (const split of ['train', 'test'] as const) {
      const ds = await loadDataset('image-folder', { split, dataDir: join(dir, 'split'), shape: RGB8 });
      assert.deepEqual(ds.labelNames, ['blue', 'red']);
      assert.deepEqual([...ds.labels], [0, 1]);
      assert.deepEqual([...ds.images.subarray(0, 3)], [0, 0, 1], 'first pixel of the blue image');
      assert.deepEqual([...ds.images.subarray(8 * 8 * 3, 8 * 8 * 3 + 3)], [1, 0, 0], 'first pixel of the red image');
    }
  });

  it('names an undecodable file, or skips it and counts it with skipCorrupt', async () => {
    const d = join(dir, 'corrupt');
    await mkdir(join(d, 'x'), { recursive: true });
    await solid(join(d, 'x', 'good.png'), 'png', [9, 9, 9]);
    const png = await sharp({ create: { width: 30, height: 30, channels: 3, background: '#808080' } }).png().toBuffer();
    await writeFile(join(d, 'x', 'truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
    await writeFile(join(d, 'x', 'text.jpg'), 'this is not a jpeg');
    await assert.rejects(loadImageFolder({ split: 'train', dataDir: d, shape: GREY28 }), expectCode('DATA_UNDECODABLE_IMAGE', 'cannot decode image', join(d, 'x')));
    const ds = await loadImageFolder({ split: 'train', dataDir: d, shape: GREY28, skipCorrupt: true });
    assert.equal(ds.count, 1);
    assert.equal(ds.skipped, 2);
    assert.equal(ds.skippedDetails.length, 2);
    assert.ok(ds.skippedDetails.some((l) => l.includes('text.jpg')));
    assert.ok(ds.skippedDetails.some((l) => l.includes('truncated.png')));
  });

  it('gives clear errors for a missing folder, a missing test split, no classes and unknown test classes', async () => {
    const missing = join(dir, 'absent');
    await assert.rejects(loadImageFolder({ split: 'train', dataDir: missing, shape: GREY28 }), expectCode('DATA_DIR_NOT_FOUND', missing, 'one subfolder per class'));
    await assert.rejects(loadImageFolder({ split: 'test', dataDir: join(dir, 'flat'), shape: GREY28 }), expectCode('DATA_DIR_NOT_FOUND', 'test/'));
    await mkdir(join(dir, 'noclasses'), { recursive: true });
    await assert.rejects(loadImageFolder({ split: 'train', dataDir: join(dir, 'noclasses'), shape: GREY28 }), expectCode('DATA_EMPTY', 'no class subfolders'));
    await mkdir(join(dir, 'split', 'test', 'green'), { recursive: true });
    await assert.rejects(loadImageFolder({ split: 'test', dataDir: join(dir, 'split'), shape: GREY28 }), expectCode('DATA_BAD_LABEL', 'green'));
    await assert.rejects(loadDataset('image-folder', { split: 'train', shape: GREY28 }), expectCode('DATA_BAD_OPTION', '--data-dir'));
  });
});
