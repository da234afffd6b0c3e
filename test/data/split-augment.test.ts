import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { augmentBatch, NO_AUGMENTATION } from '../../src/data/augment.js';
import { DataError } from '../../src/data/errors.js';
import { augmentationFor } from '../../src/data/load.js';
import { Rng } from '../../src/data/rng.js';
import { epochOrder, gatherBatch, splitTrainVal, stepsPerEpoch } from '../../src/data/split.js';
import type { Dataset } from '../../src/data/types.js';

describe('seeded generator', () => {
  it('restores from its state and continues the same stream', () => {
    const a = new Rng(42);
    for (let i = 0; i < 10; i++) a.next();
    const b = Rng.fromState(a.state());
    assert.deepEqual(Array.from({ length: 20 }, () => a.nextUint32()), Array.from({ length: 20 }, () => b.nextUint32()));
  });

  it('gives different streams for different seeds and derived parts, and ints in range', () => {
    assert.notDeepEqual(new Rng(1).permutation(50), new Rng(2).permutation(50));
    assert.notDeepEqual(Rng.derive(7, 0, 1).permutation(50), Rng.derive(7, 1, 0).permutation(50));
    const r = new Rng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.int(7);
      assert.ok(Number.isInteger(v) && v >= 0 && v < 7);
      seen.add(v);
    }
    assert.equal(seen.size, 7);
    assert.deepEqual([...new Rng(5).permutation(100)].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('splits and batches', () => {
  it('splits deterministically into disjoint train and validation sets', () => {
    const a = splitTrainVal(1000, 100, 9);
    const b = splitTrainVal(1000, 100, 9);
    assert.deepEqual(a, b);
    assert.equal(a.train.length, 900);
    assert.equal(a.val.length, 100);
    const all = new Set([...a.train, ...a.val]);
    assert.equal(all.size, 1000);
    assert.notDeepEqual(splitTrainVal(1000, 100, 10).val, a.val, 'another seed, another split');
    assert.throws(() => splitTrainVal(10, 10, 1), (e: unknown) => e instanceof DataError && e.code === 'DATA_BAD_OPTION' && e.message.includes('10'));
    assert.throws(() => splitTrainVal(10, -1, 1), DataError);
  });

  it('orders each epoch by (seed, epoch) and gathers contiguous batches', () => {
    const indices = Int32Array.from([3, 5, 7, 9, 11]);
    const e0 = epochOrder(indices, 1, 0);
    assert.deepEqual(e0, epochOrder(indices, 1, 0));
    assert.deepEqual([...e0].sort((x, y) => x - y), [3, 5, 7, 9, 11]);
    const orders = new Set(Array.from({ length: 6 }, (_, e) => epochOrder(indices, 1, e).join(',')));
    assert.ok(orders.size > 1, 'epochs are shuffled differently');
    assert.equal(stepsPerEpoch(10, 3), 3);

    const ds: Dataset = {
      name: 't',
      split: 'train',
      shape: { height: 1, width: 2, channels: 1 },
      images: Float32Array.from([0, 0.1, 0.2, 0.3, 0.4, 0.5]),
      labels: Int32Array.from([4, 5, 6]),
      count: 3,
      labelNames: [],
      skipped: 0,
      skippedDetails: [],
    };
    const batch = gatherBatch(ds, [2, 0]);
    assert.deepEqual([...batch.images], [0.4, 0.5, 0, 0.1].map(Math.fround));
    assert.deepEqual([...batch.labels], [6, 4]);
    assert.throws(() => gatherBatch(ds, [3]), RangeError);
  });
});

describe('batch augmentation', () => {
  const shape = { height: 4, width: 5, channels: 3 } as const;
  const C = 3;
  const size = 4 * 5 * C;
  const images = Float32Array.from({ length: 3 * size }, (_, i) => ((i * 37) % 101) / 100);

  it('is the identity without padding or flips', () => {
    const out = augmentBatch(images, 3, shape, NO_AUGMENTATION, new Rng(1));
    assert.deepEqual(out, images);
  });

  it('flips horizontally about half the time, keeping channels together', () => {
    const out = augmentBatch(images, 3, shape, { pad: 0, flip: true }, new Rng(1));
    const replay = new Rng(1);
    for (let n = 0; n < 3; n++) {
      replay.int(1);
      replay.int(1);
      const flipped = replay.next() < 0.5;
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 5; x++)
          for (let c = 0; c < C; c++) {
            const sx = flipped ? 4 - x : x;
            assert.equal(out[n * size + (y * 5 + x) * C + c], images[n * size + (y * 5 + sx) * C + c]);
          }
    }
    const many = new Float32Array(200 * size).fill(0);
    for (let n = 0; n < 200; n++) many[n * size] = 1; // a marker in the top-left pixel
    const flippedOut = augmentBatch(many, 200, shape, { pad: 0, flip: true }, new Rng(2));
    let flips = 0;
    for (let n = 0; n < 200; n++) if (flippedOut[n * size + 4 * C] === 1) flips++;
    assert.ok(flips > 70 && flips < 130, `${flips} of 200 flipped`);
  });

  it('shifts by at most pad pixels with zeros shifted in, and is reproducible from the seed', () => {
    const pad = 2;
    const ones = new Float32Array(100 * size).fill(1);
    const a = augmentBatch(ones, 100, shape, { pad, flip: false }, new Rng(3));
    assert.deepEqual(a, augmentBatch(ones, 100, shape, { pad, flip: false }, new Rng(3)));
    const shifts = new Set<string>();
    for (let n = 0; n < 100; n++) {
      let rows = 0;
      let cols = 0;
      const at = (y: number, x: number): number => a[n * size + (y * 5 + x) * C] as number;
      for (let y = 0; y < 4; y++) if ([0, 1, 2, 3, 4].some((x) => at(y, x) === 1)) rows++;
      for (let x = 0; x < 5; x++) if ([0, 1, 2, 3].some((y) => at(y, x) === 1)) cols++;
      // rows/cols still covered = side − |shift|, so each shift is within ±pad
      assert.ok(rows >= 4 - pad && cols >= 5 - pad, `image ${n}: ${rows} rows, ${cols} cols kept`);
      shifts.add(`${rows},${cols}`);
      const sum = a.subarray(n * size, (n + 1) * size).reduce((s, v) => s + v, 0);
      assert.equal(sum, rows * cols * C);
    }
    assert.ok(shifts.size >= 6, 'several different shifts occur');
  });

  it('uses the standard settings per dataset', () => {
    assert.deepEqual(augmentationFor('fashion-mnist', { height: 28, width: 28, channels: 1 }), { pad: 2, flip: true });
    assert.deepEqual(augmentationFor('cifar10', { height: 32, width: 32, channels: 3 }), { pad: 4, flip: true });
    assert.deepEqual(augmentationFor('image-folder', { height: 64, width: 64, channels: 3 }), { pad: 8, flip: true });
    assert.deepEqual(augmentationFor('cifar10', { height: 32, width: 32, channels: 3 }, false), NO_AUGMENTATION);
  });
});
