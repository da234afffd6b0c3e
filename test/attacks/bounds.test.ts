import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { adaptiveAttack, cwInf, fgsm, pgd, projectLinf, randomStart } from '../../src/attacks/index.js';
import { fashionBatch, TinyModel, useWasm, type Batch } from './tiny-model.js';

type Attack = (model: TinyModel, x: tf.Tensor4D, y: tf.Tensor1D, eps: number, seed: number) => tf.Tensor4D;

const ATTACKS: Record<string, Attack> = {
  fgsm: (m, x, y, eps) => fgsm(m, x, y, { eps }),
  pgd: (m, x, y, eps, seed) => pgd(m, x, y, { eps, steps: 5, stepSize: eps / 4, seed }),
  'pgd-cw-loss': (m, x, y, eps, seed) => pgd(m, x, y, { eps, steps: 3, stepSize: eps / 2, seed, loss: 'cw' }),
  cw: (m, x, y, eps, seed) => cwInf(m, x, y, { eps, steps: 5, seed }),
  adaptive: (m, x, y, eps, seed) => adaptiveAttack(m, x, y, { eps, steps: 5, seed }),
  'adaptive-no-router': (_m, x, y, eps, seed) => adaptiveAttack(staticModel, x, y, { eps, steps: 5, seed }),
};

let model: TinyModel;
let staticModel: TinyModel;
let batch: Batch;

/** Largest |a − b| and the range of a, read back from the backend. */
function stats(xAdv: tf.Tensor4D, x: tf.Tensor4D): { maxDelta: number; min: number; max: number; meanDelta: number } {
  const a = xAdv.dataSync();
  const b = x.dataSync();
  let maxDelta = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const va = a[i] as number;
    const d = Math.abs(va - (b[i] as number));
    maxDelta = Math.max(maxDelta, d);
    sum += d;
    min = Math.min(min, va);
    max = Math.max(max, va);
  }
  return { maxDelta, min, max, meanDelta: sum / a.length };
}

describe('L∞ attacks stay inside the eps-ball and the pixel range', () => {
  before(async () => {
    await useWasm();
    model = new TinyModel({ seed: 3 });
    staticModel = new TinyModel({ seed: 4, router: false });
    batch = await fashionBatch('test', 24, 100);
  });
  after(() => {
    model.dispose();
    staticModel.dispose();
    batch.x.dispose();
    batch.y.dispose();
  });

  for (const [name, attack] of Object.entries(ATTACKS)) {
    for (const eps of [0.1, 0.3]) {
      it(`${name} at eps ${eps}: inside the ball, inside [0, 1], moved, no tensor left behind`, () => {
        const before = tf.memory().numTensors;
        const xAdv = attack(model, batch.x, batch.y, eps, 7);
        assert.deepEqual(xAdv.shape, batch.x.shape);
        const s = stats(xAdv, batch.x);
        assert.ok(s.maxDelta <= eps + 1e-6, `max |x_adv − x| = ${s.maxDelta} exceeds eps ${eps}`);
        assert.ok(s.min >= 0 && s.max <= 1, `x_adv leaves [0, 1]: [${s.min}, ${s.max}]`);
        assert.ok(s.meanDelta > eps / 20, `the attack barely moved the input: mean |Δ| = ${s.meanDelta}`);
        xAdv.dispose();
        assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      });
    }
  }

  it('holds at the edges of the pixel range (all-black and all-white images)', () => {
    const x = tf.concat([tf.zeros([2, 28, 28, 1]), tf.ones([2, 28, 28, 1])]) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    for (const attack of Object.values(ATTACKS)) {
      const xAdv = attack(model, x, y, 0.2, 1);
      const s = stats(xAdv, x);
      assert.ok(s.maxDelta <= 0.2 + 1e-6 && s.min >= 0 && s.max <= 1);
      xAdv.dispose();
    }
    x.dispose();
    y.dispose();
  });

  it('eps 0 returns the input unchanged', () => {
    const xAdv = pgd(model, batch.x, batch.y, { eps: 0, steps: 2, stepSize: 0.01, seed: 1 });
    assert.equal(stats(xAdv, batch.x).maxDelta, 0);
    xAdv.dispose();
  });

  it('projectLinf clips to the ball and to [0, 1]; randomStart stays inside', () => {
    const x = tf.tensor4d([0, 0.5, 1, 0.95], [1, 2, 2, 1]);
    const far = tf.tensor4d([-1, 0.9, 0.2, 2], [1, 2, 2, 1]);
    const p = projectLinf(far, x, 0.1);
    const got = Array.from(p.dataSync());
    [0, 0.6, 0.9, 1].forEach((want, i) => assert.ok(Math.abs((got[i] as number) - want) < 1e-6, `${got[i]} vs ${want}`));
    const r = randomStart(batch.x, 0.1, 5);
    const s = stats(r, batch.x);
    assert.ok(s.maxDelta <= 0.1 + 1e-6 && s.min >= 0 && s.max <= 1 && s.meanDelta > 0.01);
    tf.dispose([x, far, p, r]);
  });

  it('is deterministic for a seed and varies with it', () => {
    const a = pgd(model, batch.x, batch.y, { eps: 0.1, steps: 2, stepSize: 0.025, seed: 11 });
    const b = pgd(model, batch.x, batch.y, { eps: 0.1, steps: 2, stepSize: 0.025, seed: 11 });
    const c = pgd(model, batch.x, batch.y, { eps: 0.1, steps: 2, stepSize: 0.025, seed: 12 });
    assert.deepEqual(a.dataSync(), b.dataSync());
    assert.notDeepEqual(a.dataSync(), c.dataSync());
    const d = pgd(model, batch.x, batch.y, { eps: 0.1, steps: 2, stepSize: 0.025, randomStart: false, seed: 1 });
    const e = pgd(model, batch.x, batch.y, { eps: 0.1, steps: 2, stepSize: 0.025, randomStart: false, seed: 2 });
    assert.deepEqual(d.dataSync(), e.dataSync());
    tf.dispose([a, b, c, d, e]);
  });

  it('rejects bad options and inputs with stable codes', () => {
    const bad: [() => unknown, string, RegExp][] = [
      [() => fgsm(model, batch.x, batch.y, { eps: -0.1 }), 'ATTACK_BAD_OPTION', /eps/],
      [() => fgsm(model, batch.x, batch.y, { eps: Number.NaN }), 'ATTACK_BAD_OPTION', /eps/],
      [() => fgsm(model, batch.x, batch.y, { eps: 2 }), 'ATTACK_BAD_OPTION', /eps must be <= 1/],
      [() => pgd(model, batch.x, batch.y, { eps: 0.1, steps: 0, stepSize: 0.01 }), 'ATTACK_BAD_OPTION', /steps/],
      [() => pgd(model, batch.x, batch.y, { eps: 0.1, steps: 1.5, stepSize: 0.01 }), 'ATTACK_BAD_OPTION', /steps/],
      [() => pgd(model, batch.x, batch.y, { eps: 0.1, steps: 2, stepSize: -1 }), 'ATTACK_BAD_OPTION', /stepSize/],
      [() => adaptiveAttack(model, batch.x, batch.y, { eps: 0.1, lambda: -1 }), 'ATTACK_BAD_OPTION', /lambda/],
      [() => fgsm(model, tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, batch.y, { eps: 0.1 }), 'ATTACK_BAD_INPUT', /\[N, 28, 28, 1\]/],
      [() => fgsm(model, batch.x, tf.tensor1d([1, 2], 'int32'), { eps: 0.1 }), 'ATTACK_BAD_INPUT', /labels must have shape \[24\]/],
    ];
    for (const [call, code, message] of bad) {
      assert.throws(call, (err: Error & { code?: string }) => err.code === code && message.test(err.message));
    }
  });
});
