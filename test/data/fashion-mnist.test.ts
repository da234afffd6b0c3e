import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataError } from '../../src/data/errors.js';
import { FASHION_MNIST_DEFAULT_DIR, FASHION_MNIST_LABELS, loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadDataset } from '../../src/data/load.js';
import { gz, idxBytes, noisePixels, patternPixels, tempDir } from './fixtures.js';

function rejectsWith(code: string, ...fragments: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const f of fragments) assert.ok(err.message.includes(f), `message "${err.message}" should mention "${f}"`);
    return true;
  };
}

describe('Fashion-MNIST (real files)', () => {
  it('loads the test split as 28×28×1 pixels in [0, 1] with the published first labels', async () => {
    const ds = await loadFashionMnist({ split: 'test' });
    assert.equal(ds.count, 10000);
    assert.deepEqual(ds.shape, { height: 28, width: 28, channels: 1 });
    assert.equal(ds.images.length, 10000 * 784);
    assert.equal(ds.skipped, 0);
    // The first t10k labels of Fashion-MNIST: Ankle boot, Pullover, Trouser, Trouser, Shirt.
    assert.deepEqual([...ds.labels.subarray(0, 5)], [9, 2, 1, 1, 6]);
    assert.equal(ds.labelNames[9], 'Ankle boot');
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    const counts = new Array<number>(10).fill(0);
    for (const l of ds.labels) counts[l]! += 1;
    assert.deepEqual(counts, new Array(10).fill(1000), 'the test split is balanced, 1000 per class');
  });

  it('loads the train split with a limit, in file order', async () => {
    const ds = await loadDataset('fashion-mnist', { split: 'train', limit: 300 });
    assert.equal(ds.count, 300);
    assert.equal(ds.images.length, 300 * 784);
    assert.deepEqual([...ds.labels.subarray(0, 5)], [9, 0, 0, 3, 0]);
  });
});

describe('Fashion-MNIST errors', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('fmnist'));
  });
  after(() => cleanup());

  async function writeSet(name: string, images: Buffer, labels: Buffer, compress = true): Promise<string> {
    const d = join(dir, name);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(d, { recursive: true });
    const ext = compress ? '.gz' : '';
    await writeFile(join(d, `t10k-images-idx3-ubyte${ext}`), compress ? gz(images) : images);
    await writeFile(join(d, `t10k-labels-idx1-ubyte${ext}`), compress ? gz(labels) : labels);
    return d;
  }

  const good = () => idxBytes([5, 28, 28], patternPixels(5, 784));
  const goodLabels = () => idxBytes([5], Uint8Array.from([0, 1, 2, 3, 9]));

  it('reads small well-formed files, gzipped or not, scaling bytes by 1/255', async () => {
    for (const compress of [true, false]) {
      const d = await writeSet(`ok-${compress}`, good(), goodLabels(), compress);
      const ds = await loadFashionMnist({ split: 'test', dataDir: d });
      assert.equal(ds.count, 5);
      assert.deepEqual([...ds.labels], [0, 1, 2, 3, 9]);
      assert.equal(ds.images[784 * 2 + 10], Math.fround(((2 * 31 + 10 * 7) % 256) / 255));
      assert.deepEqual(ds.labelNames, FASHION_MNIST_LABELS);
    }
  });

  it('names the missing directory and the files it should hold', async () => {
    const missing = join(dir, 'does-not-exist');
    await assert.rejects(loadFashionMnist({ split: 'train', dataDir: missing }), rejectsWith('DATA_DIR_NOT_FOUND', missing, 'train-images-idx3-ubyte.gz'));
  });

  it('names a missing file', async () => {
    const d = await writeSet('no-train', good(), goodLabels());
    await assert.rejects(loadFashionMnist({ split: 'train', dataDir: d }), rejectsWith('DATA_FILE_NOT_FOUND', 'train-images-idx3-ubyte.gz'));
  });

  it('rejects a bad magic number (labels where images belong)', async () => {
    const d = await writeSet('magic', goodLabels(), goodLabels());
    await assert.rejects(
      loadFashionMnist({ split: 'test', dataDir: d }),
      rejectsWith('DATA_BAD_MAGIC', 't10k-images-idx3-ubyte.gz', '0x00000801', '0x00000803'),
    );
    // Not even --skip-corrupt can read a file of the wrong kind.
    await assert.rejects(loadFashionMnist({ split: 'test', dataDir: d, skipCorrupt: true }), rejectsWith('DATA_BAD_MAGIC'));
  });

  it('rejects a file that is not gzip despite its name', async () => {
    const d = await writeSet('notgz', good(), goodLabels());
    await writeFile(join(d, 't10k-images-idx3-ubyte.gz'), good());
    await assert.rejects(loadFashionMnist({ split: 'test', dataDir: d }), rejectsWith('DATA_BAD_GZIP', 't10k-images-idx3-ubyte.gz'));
  });

  it('reports truncation, or keeps the complete records and counts the rest with skipCorrupt', async () => {
    const full = good();
    const cut = full.subarray(0, full.length - 784 - 100); // 3 complete images remain
    const d = await writeSet('trunc', cut, goodLabels());
    await assert.rejects(
      loadFashionMnist({ split: 'test', dataDir: d }),
      rejectsWith('DATA_TRUNCATED', 't10k-images-idx3-ubyte.gz', 'declares 5 records', '3 complete records'),
    );
    const ds = await loadFashionMnist({ split: 'test', dataDir: d, skipCorrupt: true });
    assert.equal(ds.count, 3);
    assert.equal(ds.skipped, 2);
    assert.deepEqual([...ds.labels], [0, 1, 2]);
    assert.match(ds.skippedDetails.join('\n'), /truncated, 2 records missing/);
  });

  it('keeps what a gzip stream cut short holds when skipping corrupt data', async () => {
    const noisy = idxBytes([5, 28, 28], noisePixels(5, 784));
    const d = await writeSet('gzcut', noisy, goodLabels());
    const whole = gz(noisy);
    await writeFile(join(d, 't10k-images-idx3-ubyte.gz'), whole.subarray(0, Math.floor(whole.length * 0.6)));
    await assert.rejects(loadFashionMnist({ split: 'test', dataDir: d }), rejectsWith('DATA_BAD_GZIP', 't10k-images-idx3-ubyte.gz'));
    const ds = await loadFashionMnist({ split: 'test', dataDir: d, skipCorrupt: true });
    assert.ok(ds.count >= 1 && ds.count < 5, `kept ${ds.count} of 5`);
    assert.equal(ds.skipped, 5 - ds.count);
  });

  it('rejects image and label files that disagree on the count', async () => {
    const d = await writeSet('count', good(), idxBytes([4], Uint8Array.from([0, 1, 2, 3])));
    await assert.rejects(loadFashionMnist({ split: 'test', dataDir: d }), rejectsWith('DATA_COUNT_MISMATCH', 'declares 5 images', '4 labels'));
  });

  it('rejects extra bytes after the declared records', async () => {
    const d = await writeSet('extra', Buffer.concat([good(), Buffer.alloc(10)]), goodLabels());
    await assert.rejects(loadFashionMnist({ split: 'test', dataDir: d }), rejectsWith('DATA_BAD_RECORD_SIZE', '10 bytes more'));
  });

  it('rejects labels outside 0–9, or skips those records with skipCorrupt', async () => {
    const d = await writeSet('labels', good(), idxBytes([5], Uint8Array.from([0, 42, 2, 3, 9])));
    await assert.rejects(loadFashionMnist({ split: 'test', dataDir: d }), rejectsWith('DATA_BAD_LABEL', 'record 1', 'label 42'));
    const ds = await loadFashionMnist({ split: 'test', dataDir: d, skipCorrupt: true });
    assert.deepEqual([...ds.labels], [0, 2, 3, 9]);
    assert.equal(ds.skipped, 1);
    assert.equal(ds.images[784], Math.fround(((2 * 31) % 256) / 255), 'record 2 moved into slot 1');
  });

  it('rejects images that are not 28×28', async () => {
    const d = await writeSet('shape', idxBytes([5, 10, 10], patternPixels(5, 100)), goodLabels());
    await assert.rejects(loadFashionMnist({ split: 'test', dataDir: d }), rejectsWith('DATA_BAD_SHAPE', '10×10'));
  });

  it('rejects a bad limit and a shape the model does not take', async () => {
    await assert.rejects(loadDataset('fashion-mnist', { split: 'test', limit: 0 }), rejectsWith('DATA_BAD_OPTION', 'limit'));
    await assert.rejects(
      loadDataset('fashion-mnist', { split: 'test', dataDir: FASHION_MNIST_DEFAULT_DIR, shape: { height: 32, width: 32, channels: 3 } }),
      rejectsWith('DATA_BAD_SHAPE', '28×28×1', '32×32×3'),
    );
  });
});
