import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/types.js';
import { catastrophicOverfitting, robustnessCollapse, validate } from '../../src/train/validate.js';
import { fashionBatch, TinyModel, trainTiny, useWasm, type Batch } from '../attacks/tiny-model.js';

describe('per-epoch validation', () => {
  let model: TinyModel;
  let data: Batch;
  let dataset: Dataset;
  before(async () => {
    await useWasm();
    model = new TinyModel();
    data = await fashionBatch('train', 192);
    trainTiny(model, data, 30);
    dataset = {
      name: 'fashion-mnist',
      split: 'train',
      shape: { height: 28, width: 28, channels: 1 },
      images: data.x.dataSync() as Float32Array,
      labels: data.y.dataSync() as Int32Array,
      count: 192,
      labelNames: Array.from({ length: 10 }, (_, i) => String(i)),
      skipped: 0,
      skippedDetails: [],
    };
  });
  after(() => {
    model.dispose();
    tf.dispose([data.x, data.y]);
  });

  const options = { batchSize: 32, eps: 0.1, attackSteps: 3, attackStepSize: 0.025, adaptiveLambdas: [1, 10], seed: 1 };

  it('reports a worst case never above PGD, and W-Robust from it', async () => {
    const all = Int32Array.from({ length: 192 }, (_, i) => i);
    const v = await validate(model, dataset, all, all.subarray(0, 64), options);
    assert.ok(v.cleanAcc > 0.3, `clean ${v.cleanAcc}`);
    assert.ok(v.worstAcc! <= v.pgdAcc!);
    assert.ok(v.pgdAcc! <= v.cleanAcc + 0.2);
    assert.equal(v.wRobust, (v.cleanAcc + v.worstAcc!) / 2);
    assert.equal(typeof v.fgsmAcc, 'number');
    assert.equal(typeof v.routerAcc, 'number');
    assert.equal(v.squareFooled, null, 'no Square Attack was asked for');
  });

  it('folds the Square Attack into the worst case: it only removes images the gradient attacks left', async () => {
    const all = Int32Array.from({ length: 192 }, (_, i) => i);
    const without = await validate(model, dataset, all, all.subarray(0, 64), options);
    const withSquare = await validate(model, dataset, all, all.subarray(0, 64), { ...options, squareQueries: 50 });
    assert.equal(withSquare.pgdAcc, without.pgdAcc, 'same seeds, same gradient attacks');
    assert.equal(typeof withSquare.squareFooled, 'number');
    assert.ok(Math.abs(withSquare.worstAcc! - (without.worstAcc! - withSquare.squareFooled! / 64)) < 1e-9, 'worst case = gradient worst case − Square');
  });
});

describe('catastrophic-overfitting check', () => {
  it('fires when PGD accuracy collapses while FGSM accuracy holds', () => {
    const history = [
      { pgdAcc: 0.5, fgsmAcc: 0.6 },
      { pgdAcc: 0.55, fgsmAcc: 0.62 },
    ];
    assert.equal(catastrophicOverfitting(history, { pgdAcc: 0.1, fgsmAcc: 0.8 }), true);
    assert.equal(catastrophicOverfitting(history, { pgdAcc: 0.1, fgsmAcc: 0.2 }), false, 'both fell: not the single-step signature');
    assert.equal(catastrophicOverfitting(history, { pgdAcc: 0.5, fgsmAcc: 0.8 }), false, 'a small dip is not a collapse');
    assert.equal(catastrophicOverfitting([], { pgdAcc: 0.1, fgsmAcc: 0.9 }), false);
  });
});

describe('robustness-collapse check', () => {
  it('fires when the validation worst case falls far below its best, whatever FGSM does', () => {
    // The epochs of an AW-Net run whose router learnt its own training attacks (worst case 50 % → 6 %).
    const history = [{ worstAcc: 0.47 }, { worstAcc: 0.27 }, { worstAcc: 0.5 }, { worstAcc: 0.3 }];
    assert.equal(robustnessCollapse(history, { worstAcc: 0.06 }), true);
    assert.equal(robustnessCollapse(history.slice(0, 1), { worstAcc: 0.3 }), false, 'a dip under 20 points is not a collapse');
    assert.equal(robustnessCollapse(history, { worstAcc: 0.45 }), false);
    assert.equal(robustnessCollapse([], { worstAcc: 0 }), false, 'nothing to fall from');
    const older: { pgdAcc: number; fgsmAcc: number; worstAcc?: number | null }[] = [{ pgdAcc: 0.5, fgsmAcc: 0.6 }];
    assert.equal(robustnessCollapse(older, { worstAcc: 0.1 }), false, 'older checkpoints recorded no worst case');
    assert.equal(robustnessCollapse(history, { worstAcc: null }), false, 'no attacked validation images');
  });
});
