import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benignEvaluationSet, corruptBatch, CORRUPTION_KINDS, sampleBenign, type Corruption } from '../../src/data/corruptions.js';
import { Rng } from '../../src/data/rng.js';

const SHAPE = { height: 16, width: 16, channels: 1 } as const;
const SIZE = 16 * 16;

/** Two smooth test images: a horizontal ramp and a centred disc. */
function images(): Float32Array {
  const out = new Float32Array(2 * SIZE);
  for (let y = 0; y < 16; y++)
    for (let x = 0; x < 16; x++) {
      out[y * 16 + x] = 0.1 + (0.8 * x) / 15;
      out[SIZE + y * 16 + x] = (x - 7.5) ** 2 + (y - 7.5) ** 2 < 25 ? 0.9 : 0.2;
    }
  return out;
}

const all = (c: Corruption) => () => c;

describe('benign corruptions', () => {
  it('uniform and sign noise stay within their amplitude and the pixel range', async () => {
    const x = images();
    for (const kind of ['uniform', 'sign'] as const) {
      const y = await corruptBatch(x, 2, SHAPE, all({ kind, amount: 0.1 }), new Rng(1));
      let max = 0;
      for (let i = 0; i < y.length; i++) {
        max = Math.max(max, Math.abs(y[i]! - x[i]!));
        assert.ok(y[i]! >= 0 && y[i]! <= 1);
      }
      assert.ok(max <= 0.1 + 1e-6 && max > 0.09, `${kind}: max |δ| ${max}`);
    }
  });

  it('Gaussian noise has about the requested standard deviation', async () => {
    const x = new Float32Array(2 * SIZE).fill(0.5);
    const y = await corruptBatch(x, 2, SHAPE, all({ kind: 'gaussian', amount: 0.05 }), new Rng(2));
    const d = [...y].map((v, i) => v - x[i]!);
    const sd = Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    assert.ok(Math.abs(sd - 0.05) < 0.008, `σ ${sd}`);
  });

  it('brightness scales, contrast keeps the mean and scales the spread', async () => {
    const x = images();
    const b = await corruptBatch(x, 1, SHAPE, all({ kind: 'brightness', amount: 0.8 }), new Rng(1));
    for (let i = 0; i < SIZE; i++) assert.ok(Math.abs(b[i]! - 0.8 * x[i]!) < 1e-6);
    const c = await corruptBatch(x, 1, SHAPE, all({ kind: 'contrast', amount: 0.7 }), new Rng(1));
    const mean = (a: Float32Array) => a.subarray(0, SIZE).reduce((s, v) => s + v, 0) / SIZE;
    assert.ok(Math.abs(mean(c) - mean(x)) < 1e-5);
    assert.ok(Math.abs(c[15]! - c[0]! - 0.7 * (x[15]! - x[0]!)) < 1e-5);
  });

  it('an offset shifts every pixel by the same amount and lifts a black background, clipped to [0, 1]', async () => {
    const x = images();
    const up = await corruptBatch(x, 1, SHAPE, all({ kind: 'offset', amount: 0.08 }), new Rng(1));
    for (let i = 0; i < SIZE; i++) assert.ok(Math.abs(up[i]! - Math.min(1, x[i]! + 0.08)) < 1e-6, `pixel ${i}`);
    const black = await corruptBatch(new Float32Array(SIZE), 1, SHAPE, all({ kind: 'offset', amount: 0.08 }), new Rng(1));
    for (const v of black) assert.ok(Math.abs(v - 0.08) < 1e-6);
    const down = await corruptBatch(new Float32Array(SIZE), 1, SHAPE, all({ kind: 'offset', amount: -0.05 }), new Rng(1));
    for (const v of down) assert.equal(v, 0);
  });

  it('blur keeps a constant image and smooths an edge', async () => {
    const flat = new Float32Array(SIZE).fill(0.4);
    const f = await corruptBatch(flat, 1, SHAPE, all({ kind: 'blur', amount: 0.7 }), new Rng(1));
    for (const v of f) assert.ok(Math.abs(v - 0.4) < 1e-6);
    const x = images();
    const y = await corruptBatch(x, 2, SHAPE, all({ kind: 'blur', amount: 0.7 }), new Rng(1));
    // Pixel (7, 2) sits just outside the disc's edge: blurring brings the disc's brightness in.
    const i = SIZE + 7 * 16 + 2;
    assert.ok(y[i]! > x[i]! + 0.01, `${x[i]} → ${y[i]}`);
  });

  it('JPEG q40 changes the image a little, through a real encoder', async () => {
    const x = images();
    const y = await corruptBatch(x, 2, SHAPE, all({ kind: 'jpeg', amount: 40 }), new Rng(1));
    let max = 0;
    for (let i = 0; i < y.length; i++) max = Math.max(max, Math.abs(y[i]! - x[i]!));
    assert.ok(max > 0.004 && max < 0.4, `max |δ| ${max}`);
  });

  it('leaves images it is not asked to change alone and repeats itself under a seed', async () => {
    const x = images();
    const pick = (n: number): Corruption | null => (n === 0 ? { kind: 'uniform', amount: 0.2 } : null);
    const a = await corruptBatch(x, 2, SHAPE, pick, new Rng(9));
    const b = await corruptBatch(x, 2, SHAPE, pick, new Rng(9));
    assert.deepEqual([...a.subarray(SIZE)], [...x.subarray(SIZE)]);
    assert.deepEqual([...a], [...b]);
  });

  it('the training distribution draws every kind with amounts in their stated ranges', () => {
    const rng = new Rng(5);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const c = sampleBenign(rng, 0.1);
      seen.add(c.kind);
      const ok = {
        uniform: c.amount >= 0 && c.amount <= 0.25,
        gaussian: c.amount >= 0.01 && c.amount <= 0.12,
        sign: c.amount >= 0 && c.amount <= 0.1,
        jpeg: c.amount >= 20 && c.amount <= 95,
        blur: c.amount >= 0.3 && c.amount <= 1.2,
        brightness: c.amount >= 0.6 && c.amount <= 1.3,
        contrast: c.amount >= 0.5 && c.amount <= 1.3,
        offset: c.amount >= -0.1 && c.amount <= 0.15,
      }[c.kind];
      assert.ok(ok, JSON.stringify(c));
    }
    assert.deepEqual([...seen].sort(), [...CORRUPTION_KINDS].sort());
  });

  it('draws only the kinds it is given, each about equally often, and the same stream as the full list where their order agrees', () => {
    const kinds = ['jpeg', 'blur', 'contrast'] as const;
    const rng = new Rng(9);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const c = sampleBenign(rng, 0.1, kinds);
      counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [...kinds].sort());
    for (const [kind, n] of counts) assert.ok(n > 900 && n < 1100, `${kind} drawn ${n} times of 3000`);
    // The list without 'offset' (appended last) is the distribution of runs made before it existed.
    const before = CORRUPTION_KINDS.filter((k) => k !== 'offset');
    const a = new Rng(3);
    const b = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const fromList = sampleBenign(a, 0.1, before);
      assert.notEqual(fromList.kind, 'offset');
      assert.deepEqual(fromList, sampleBenign(b, 0.1, ['uniform', 'gaussian', 'sign', 'jpeg', 'blur', 'brightness', 'contrast']));
    }
  });

  it('the evaluation settings are the published list', () => {
    assert.deepEqual(
      benignEvaluationSet(0.1).map((s) => s.id),
      ['uniform-eps', 'uniform-half-eps', 'gaussian-0.05', 'sign-0.03', 'jpeg-40', 'blur-0.7', 'brightness-0.8', 'contrast-0.7'],
    );
  });
});
