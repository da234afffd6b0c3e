import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { apgdRun, marginKey, type CheckpointEvent } from '../../src/attacks/apgd.js';
import { apgdCheckpoints, countIncreases, shouldHalve } from '../../src/attacks/apgd-schedule.js';
import { perSampleCrossEntropy } from '../../src/attacks/losses.js';
import { mulberry32 } from '../../src/model/init.js';
import { LinearModel } from './linear-model.js';
import { useWasm } from './tiny-model.js';

describe("APGD's step-size schedule (pure functions)", () => {
  it('puts the checkpoints at ⌈p_j·N⌉ with p = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99', () => {
    assert.deepEqual(apgdCheckpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
    assert.deepEqual(apgdCheckpoints(20), [5, 9, 12, 14, 16, 18, 19, 20]);
    assert.deepEqual(apgdCheckpoints(1000).slice(0, 3), [220, 410, 570]);
    assert.deepEqual(apgdCheckpoints(1), [1]);
    for (const n of [3, 7, 50, 333]) {
      const c = apgdCheckpoints(n);
      assert.ok(c.every((w, i) => w >= 1 && w <= n && (i === 0 || w > (c[i - 1] as number))), `${n}: ${c.join(',')}`);
    }
  });

  it('counts the steps on which the objective rose', () => {
    assert.equal(countIncreases([0, 1, 2, 3]), 3);
    assert.equal(countIncreases([3, 2, 2, 1]), 0);
    assert.equal(countIncreases([0, 1, 0, 1, 0]), 2);
    assert.equal(countIncreases([5]), 0);
  });

  it('halves when the objective rose on fewer than 75 % of the steps (it oscillates)', () => {
    const base = { halvedLast: true, bestAtLast: 0, bestNow: 10 };
    // 4 steps: 3 increases (75 %) keep the step, 2 halve it.
    assert.equal(shouldHalve({ ...base, objective: [0, 1, 2, 3, 2] }), false);
    assert.equal(shouldHalve({ ...base, objective: [0, 1, 0, 1, 0] }), true);
    assert.equal(shouldHalve({ ...base, objective: [0, 1, 0, 1, 0], rho: 0.5 }), false);
  });

  it('halves when the step was kept last time and the best objective has not improved since', () => {
    const rising = [0, 1, 2, 3, 4];
    assert.equal(shouldHalve({ objective: rising, halvedLast: false, bestAtLast: 4, bestNow: 4 }), true);
    assert.equal(shouldHalve({ objective: rising, halvedLast: false, bestAtLast: 3, bestNow: 4 }), false);
    // Just halved: give the smaller step a period before judging it by condition 2.
    assert.equal(shouldHalve({ objective: rising, halvedLast: true, bestAtLast: 4, bestNow: 4 }), false);
  });
});

describe('an APGD run follows the schedule and restarts from its best point', () => {
  let model: LinearModel;
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  before(async () => {
    await useWasm();
    model = new LinearModel({ side: 6, classes: 10, seed: 5 });
    const next = mulberry32(2);
    const n = 16;
    const pixels = Float32Array.from({ length: n * 36 }, () => next());
    x = tf.tensor4d(pixels, [n, 6, 6, 1]);
    // Labels the model gets wrong make the cross-entropy large and easy to raise.
    y = tf.tensor1d(Array.from({ length: n }, (_, i) => i % 10), 'int32');
  });
  after(() => {
    tf.dispose([x, y]);
    model.dispose();
  });

  it('changes step sizes only at checkpoints, only by halving, and resumes halved images at x_max', () => {
    const eps = 0.05;
    const events: { iteration: number; halved: Uint8Array; stepSizes: Float32Array; best: Float32Array; restart: Float32Array }[] = [];
    const objective = { value: (out: { logits: tf.Tensor2D }, labels: tf.Tensor1D) => perSampleCrossEntropy(out.logits, labels), key: marginKey };
    const before = tf.memory().numTensors;
    const result = apgdRun(model, x, y, objective, {
      eps,
      steps: 30,
      seed: 3,
      onCheckpoint: (e: CheckpointEvent) => {
        const value = tf.tidy(() => perSampleCrossEntropy(model.forward(e.current, { training: false }).logits, y));
        events.push({ iteration: e.iteration, halved: e.halved, stepSizes: e.stepSizes, best: e.best, restart: Float32Array.from(value.dataSync()) });
        value.dispose();
      },
    });
    result.xAdv.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.deepEqual(events.map((e) => e.iteration), apgdCheckpoints(30));
    let previous: Float32Array = new Float32Array(16).fill(2 * eps);
    let halvings = 0;
    for (const e of events) {
      e.stepSizes.forEach((s, i) => {
        const expected = e.halved[i] === 1 ? (previous[i] as number) / 2 : (previous[i] as number);
        assert.ok(Math.abs(s - expected) < 1e-9, `iteration ${e.iteration}, image ${i}: step ${s}, expected ${expected}`);
        if (e.halved[i] === 1) {
          halvings++;
          // Restarted at the point of the best objective so far.
          assert.ok(Math.abs((e.restart[i] as number) - (e.best[i] as number)) < 1e-3 * Math.max(1, Math.abs(e.best[i] as number)), `image ${i} resumed at ${e.restart[i]}, best ${e.best[i]}`);
        }
      });
      previous = e.stepSizes;
    }
    assert.ok(halvings > 0, 'no step size was ever halved');
  });
});
