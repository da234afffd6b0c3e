import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { readCheckpointMeta } from '../../src/model/checkpoint.js';
import { readLog, runCli, tempDir, TINY_MODEL_ARGS } from './helpers.js';

/** Deterministic bytes for synthetic CIFAR records. */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

// Each test writes its own data folder and runs its own CLI processes: they run side by side.
describe('train command on every dataset format', { concurrency: true }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('train-datasets'));
  });
  after(() => cleanup());

  it('trains on CIFAR-10 binary files with a narrowed cifar10-resnet18', async () => {
    const data = join(dir, 'cifar');
    await mkdir(data, { recursive: true });
    for (let f = 1; f <= 5; f++) {
      const records = Array.from({ length: 12 }, (_, i) => Buffer.concat([Buffer.from([(f * 12 + i) % 10]), noise(3072, f * 100 + i)]));
      await writeFile(join(data, `data_batch_${f}.bin`), Buffer.concat(records));
    }
    const out = join(dir, 'cifar-run');
    const r = await runCli([
      'train', '--dataset', 'cifar10', '--data-dir', data, '--preset', 'cifar10-resnet18',
      '--stem', '8', '--widths', '8,8,8,8', '--blocks', '1,1,1,1', '--router-stem', '4', '--router-widths', '4,4,4,4', '--router-blocks', '1,1,1,1',
      '--epochs', '1', '--batch-size', '16', '--val-size', '12', '--val-pgd-size', '8', '--val-attack-steps', '1', '--attack-steps', '1', '--out', out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /data: cifar10 60 images \(48 train, 12 validation, 8 attacked\)/);
    const meta = await readCheckpointMeta(join(out, 'checkpoints', 'latest'));
    assert.equal(meta.config.preset, 'cifar10-resnet18');
    assert.deepEqual(meta.config.input, { height: 32, width: 32, channels: 3 });
    assert.equal((meta.trainerState as { settings: { eps: number } }).settings.eps, 8 / 255, 'CIFAR-10 defaults to eps 8/255');
  });

  it('trains on an image folder, with as many classes as subfolders', async () => {
    const data = join(dir, 'folder');
    for (const [c, colour] of [
      ['dark', 20],
      ['light', 230],
      ['mid', 128],
    ] as const) {
      await mkdir(join(data, c), { recursive: true });
      for (let i = 0; i < 8; i++) {
        await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: colour, g: colour + ((i * 3) % 20), b: colour } } })
          .png()
          .toFile(join(data, c, `${i}.png`));
      }
    }
    const out = join(dir, 'folder-run');
    const r = await runCli(['train', '--dataset', 'image-folder', '--data-dir', data, ...TINY_MODEL_ARGS, '--epochs', '1', '--batch-size', '8', '--val-size', '4', '--val-pgd-size', '4', '--attack-steps', '1', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const meta = await readCheckpointMeta(join(out, 'checkpoints', 'latest'));
    assert.equal(meta.config.numClasses, 3);
    assert.equal(readLog(out).length, 1);
  });

  it('skips corrupt Fashion-MNIST records with --skip-corrupt and reports how many', async () => {
    const real = await loadFashionMnist({ split: 'train', limit: 80 });
    const data = join(dir, 'fmnist-truncated');
    await mkdir(data, { recursive: true });
    const images = Buffer.alloc(16 + 80 * 784);
    images.writeUInt32BE(0x803, 0);
    images.writeUInt32BE(100, 4); // the header promises 100 images, the file holds 80
    images.writeUInt32BE(28, 8);
    images.writeUInt32BE(28, 12);
    for (let i = 0; i < real.images.length; i++) images[16 + i] = Math.round(real.images[i]! * 255);
    const labels = Buffer.alloc(8 + 100);
    labels.writeUInt32BE(0x801, 0);
    labels.writeUInt32BE(100, 4);
    labels.set(real.labels, 8);
    await writeFile(join(data, 'train-images-idx3-ubyte.gz'), gzipSync(images));
    await writeFile(join(data, 'train-labels-idx1-ubyte.gz'), gzipSync(labels));
    const args = ['train', '--data-dir', data, ...TINY_MODEL_ARGS, '--epochs', '1', '--batch-size', '16', '--val-size', '16', '--val-pgd-size', '4', '--attack-steps', '1'];

    const [strict, lenient] = await Promise.all([runCli([...args, '--out', join(dir, 'strict')]), runCli([...args, '--skip-corrupt', '--out', join(dir, 'lenient')])]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /awnet train: .*train-images-idx3-ubyte\.gz is truncated: header declares 100 records .* \(80 complete records\)[\s\S]*\[DATA_TRUNCATED\]/);

    assert.equal(lenient.code, 0, lenient.stderr);
    assert.match(lenient.stdout, /skipped 20 corrupt record\(s\)\/file\(s\):\n\s+.*train-images-idx3-ubyte\.gz: truncated, 20 records missing/);
    assert.match(lenient.stdout, /data: fashion-mnist 80 images \(64 train, 16 validation, 4 attacked\)/);
  });
});
