import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import type { Dataset } from '../../src/data/types.js';
import { trainingBatch } from '../../src/train/batches.js';
import type { TrainSettings } from '../../src/train/settings.js';
import { defaultSettings } from './helpers.js';

/** Command-line defaults on the first 256 images, with a share of benign rows. */
function settings(benignShare: number): TrainSettings {
  return { ...defaultSettings('/nonexistent'), limit: 256, benignShare };
}

describe('training batches with benign changes and the attack start on clean rows', () => {
  let data: Dataset;
  const indices = Int32Array.from({ length: 64 }, (_, i) => i);
  before(async () => {
    data = await loadDataset('fashion-mnist', { split: 'train', limit: 256 });
  });

  it('change the share of clean rows they are asked to, keep every label, and repeat under the same position', async () => {
    const plain = await trainingBatch(data, indices, settings(0), 0, 3);
    const half = await trainingBatch(data, indices, settings(0.5), 0, 3);
    const again = await trainingBatch(data, indices, settings(0.5), 0, 3);
    assert.deepEqual([...half.labels], [...plain.labels], 'benign rows keep their class');
    assert.equal(half.count, 64);
    let changed = 0;
    for (let n = 0; n < 64; n++) {
      const a = plain.images.subarray(n * 784, (n + 1) * 784);
      const b = half.images.subarray(n * 784, (n + 1) * 784);
      if (a.some((v, i) => Math.abs(v - b[i]!) > 1e-6)) changed++;
    }
    // A binomial(64, 0.5) count; a brightness ×1 draw or an all-black image can leave a row as it was.
    assert.ok(changed >= 16 && changed <= 48, `${changed} of 64 rows changed`);
    assert.deepEqual([...again.images], [...half.images]);
    for (const v of half.images) assert.ok(v >= 0 && v <= 1);
  });

  it('with --benign-kinds offset, shift every changed row evenly (one b per row, within its range) and keep every label', async () => {
    const plain = await trainingBatch(data, indices, settings(0), 0, 3);
    const shifted = await trainingBatch(data, indices, { ...settings(1), benignKinds: ['offset'] }, 0, 3);
    assert.deepEqual([...shifted.labels], [...plain.labels]);
    let rows = 0;
    for (let n = 0; n < 64; n++) {
      const diffs: number[] = [];
      for (let i = n * 784; i < (n + 1) * 784; i++) {
        const y = shifted.images[i]!;
        // Pixels clipped at 0 or 1 do not show the whole shift.
        if (y > 1e-6 && y < 1 - 1e-6) diffs.push(y - plain.images[i]!);
      }
      if (diffs.length === 0) continue;
      rows++;
      const b = diffs[0]!;
      assert.ok(b >= -0.1 - 1e-6 && b <= 0.15 + 1e-6, `row ${n}: shift ${b}`);
      for (const d of diffs) assert.ok(Math.abs(d - b) < 1e-5, `row ${n}: shifts ${b} and ${d} in one row`);
    }
    assert.ok(rows > 50, `${rows} of 64 rows had unclipped pixels`);
  });

  it("with --matched-noise-share, add uniform noise of exactly the attack start's half-width to that share of rows, labels kept", async () => {
    const plain = await trainingBatch(data, indices, settings(0), 0, 3);
    const matched = await trainingBatch(data, indices, { ...settings(0), attackNoise: 0.07, matchedNoiseShare: 0.5 }, 0, 3);
    assert.deepEqual([...matched.labels], [...plain.labels]);
    let changed = 0;
    let widest = 0;
    for (let n = 0; n < 64; n++) {
      let rowChanged = false;
      for (let i = n * 784; i < (n + 1) * 784; i++) {
        const d = Math.abs(matched.images[i]! - plain.images[i]!);
        widest = Math.max(widest, d);
        if (d > 1e-6) rowChanged = true;
      }
      if (rowChanged) changed++;
    }
    assert.ok(changed >= 16 && changed <= 48, `${changed} of 64 rows changed`);
    assert.ok(widest <= 0.07 + 1e-6 && widest > 0.05, `largest change ${widest}, the start's half-width is 0.07`);
  });
});
