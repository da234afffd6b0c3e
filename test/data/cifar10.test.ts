import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CIFAR10_LABELS, CIFAR10_RECORD_BYTES, loadCifar10 } from '../../src/data/cifar10.js';
import { DataError } from '../../src/data/errors.js';
import { loadDataset } from '../../src/data/load.js';
import { tempDir } from './fixtures.js';

/** One CIFAR-10 record whose red plane is r, green g, blue b, except pixel 0 red = marker. */
function record(label: number, r: number, g: number, b: number, marker = r): Buffer {
  const buf = Buffer.alloc(CIFAR10_RECORD_BYTES);
  buf[0] = label;
  buf.fill(r, 1, 1 + 1024);
  buf.fill(g, 1 + 1024, 1 + 2048);
  buf.fill(b, 1 + 2048, 1 + 3072);
  buf[1] = marker;
  return buf;
}

function expectCode(code: string, ...fragments: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DataError, String(err));
    assert.equal(err.code, code, err.message);
    for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
    return true;
  };
}

describe('CIFAR-10 binary format', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('cifar'));
  });
  after(() => cleanup());

  async function makeSet(name: string, files: Record<string, Buffer>, meta?: string): Promise<string> {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    for (const [file, bytes] of Object.entries(files)) await writeFile(join(d, file), bytes);
    if (meta !== undefined) await writeFile(join(d, 'batches.meta.txt'), meta);
    return d;
  }

  function trainFiles(perFile: number): Record<string, Buffer> {
    const files: Record<string, Buffer> = {};
    for (let f = 1; f <= 5; f++) {
      files[`data_batch_${f}.bin`] = Buffer.concat(
        Array.from({ length: perFile }, (_, i) => record((f + i) % 10, 10 * f, 100 + i, 200, 255)),
      );
    }
    return files;
  }

  it('reads planar RGB records into interleaved HWC pixels in [0, 1], across all five batches', async () => {
    const d = await makeSet('ok', { ...trainFiles(2), 'test_batch.bin': record(3, 0, 51, 255) });
    const ds = await loadCifar10({ split: 'train', dataDir: d });
    assert.equal(ds.count, 10);
    assert.deepEqual(ds.shape, { height: 32, width: 32, channels: 3 });
    assert.deepEqual([...ds.labels], [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    assert.deepEqual(ds.labelNames, CIFAR10_LABELS);
    const img = 3; // file 2, record 1
    const base = img * 3072;
    assert.equal(ds.images[base], 1, 'marker pixel 0 red = 255');
    assert.equal(ds.images[base + 3], Math.fround(20 / 255), 'pixel 1 red');
    assert.equal(ds.images[base + 4], Math.fround(101 / 255), 'pixel 1 green');
    assert.equal(ds.images[base + 5], Math.fround(200 / 255), 'pixel 1 blue');
    const test = await loadDataset('cifar10', { split: 'test', dataDir: d });
    assert.equal(test.count, 1);
    assert.deepEqual([...test.images.subarray(3, 6)], [0, Math.fround(51 / 255), 1]);
  });

  it('takes label names from batches.meta.txt and honours the limit across files', async () => {
    const names = CIFAR10_LABELS.map((n) => n.toUpperCase()).join('\n') + '\n';
    const d = await makeSet('meta', trainFiles(2), names);
    const ds = await loadCifar10({ split: 'train', dataDir: d, limit: 3 });
    assert.equal(ds.count, 3);
    assert.equal(ds.labelNames[0], 'AIRPLANE');
  });

  it('names the missing directory and the files expected in it', async () => {
    const missing = join(dir, 'nowhere');
    await assert.rejects(loadCifar10({ split: 'train', dataDir: missing }), expectCode('DATA_DIR_NOT_FOUND', missing, 'data_batch_1.bin', 'test_batch.bin'));
  });

  it('names a missing batch file', async () => {
    const files = trainFiles(1);
    delete files['data_batch_4.bin'];
    const d = await makeSet('missing4', files);
    await assert.rejects(loadCifar10({ split: 'train', dataDir: d }), expectCode('DATA_FILE_NOT_FOUND', 'data_batch_4.bin'));
  });

  it('rejects a file that is not a whole number of records, or skips the tail with skipCorrupt', async () => {
    const files = trainFiles(2);
    files['data_batch_2.bin'] = Buffer.concat([files['data_batch_2.bin']!, Buffer.alloc(100)]);
    const d = await makeSet('recsize', files);
    await assert.rejects(
      loadCifar10({ split: 'train', dataDir: d }),
      expectCode('DATA_BAD_RECORD_SIZE', 'data_batch_2.bin', '3073-byte', '100 bytes left over'),
    );
    const ds = await loadCifar10({ split: 'train', dataDir: d, skipCorrupt: true });
    assert.equal(ds.count, 10);
    assert.equal(ds.skipped, 1);
    assert.match(ds.skippedDetails[0]!, /data_batch_2\.bin: 100 trailing bytes/);
  });

  it('rejects labels above 9, or skips those records with skipCorrupt', async () => {
    const d = await makeSet('label', { 'test_batch.bin': Buffer.concat([record(1, 0, 0, 0), record(77, 0, 0, 0), record(2, 0, 0, 0)]) });
    await assert.rejects(loadCifar10({ split: 'test', dataDir: d }), expectCode('DATA_BAD_LABEL', 'test_batch.bin', 'record 1', 'label 77'));
    const ds = await loadCifar10({ split: 'test', dataDir: d, skipCorrupt: true });
    assert.deepEqual([...ds.labels], [1, 2]);
    assert.equal(ds.skipped, 1);
  });

  it('rejects an empty file as holding no records', async () => {
    const d = await makeSet('empty', { 'test_batch.bin': Buffer.alloc(0) });
    await assert.rejects(loadCifar10({ split: 'test', dataDir: d }), expectCode('DATA_EMPTY', d));
  });
});
