import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildConfig, createModel } from '../../src/model/index.js';
import { typeLabels } from '../../src/train/losses.js';
import { cleanOmegaRows, decayingVariables, trainStep } from '../../src/train/train-step.js';
import { adversarialRows, evadingRows, NO_EVASION, rowLambdas, rowStepSizes, trainingAttack } from '../../src/train/training-attack.js';
import { fashionBatch, TinyModel, useWasm, type Batch } from '../attacks/tiny-model.js';

const EPS = 0.1;

/** Largest |a − b| and the pixel range of a. */
function delta(a: tf.Tensor, b: tf.Tensor): { max: number; min: number; top: number } {
  const va = a.dataSync();
  const vb = b.dataSync();
  let max = 0;
  let min = Infinity;
  let top = -Infinity;
  for (let i = 0; i < va.length; i++) {
    max = Math.max(max, Math.abs(va[i]! - vb[i]!));
    min = Math.min(min, va[i]!);
    top = Math.max(top, va[i]!);
  }
  return { max, min, top };
}

describe('training attacks', () => {
  let model: TinyModel;
  let batch: Batch;
  before(async () => {
    await useWasm();
    model = new TinyModel();
    batch = await fashionBatch('train', 32);
  });
  after(() => {
    model.dispose();
    tf.dispose([batch.x, batch.y]);
  });

  it('have the literature defaults', () => {
    assert.deepEqual(trainingAttack('fgsm-rs', EPS), { name: 'fgsm-rs', eps: EPS, steps: 1, stepSize: 1.25 * EPS, noise: EPS, project: true });
    assert.deepEqual(trainingAttack('n-fgsm', EPS), { name: 'n-fgsm', eps: EPS, steps: 1, stepSize: EPS, noise: 2 * EPS, project: false });
    assert.deepEqual(trainingAttack('pgd', EPS), { name: 'pgd', eps: EPS, steps: 5, stepSize: 0.05, noise: EPS, project: true });
    // Fewer steps do not mean a step beyond eps/2; more steps keep 2.5·eps/steps.
    assert.equal(trainingAttack('pgd', EPS, { steps: 2 }).stepSize, EPS / 2);
    assert.equal(trainingAttack('pgd', EPS, { steps: 1 }).stepSize, EPS / 2);
    assert.equal(trainingAttack('pgd', EPS, { steps: 10 }).stepSize, (2.5 * EPS) / 10);
    assert.equal(trainingAttack('pgd', EPS, { steps: 2, stepSize: 0.125 }).stepSize, 0.125);
  });

  it('FGSM-RS stays in the eps-ball and the pixel range', () => {
    const { xAdv } = adversarialRows(model, batch.x, batch.y, 'pgd-at', trainingAttack('fgsm-rs', EPS), NO_EVASION, 3);
    const d = delta(xAdv, batch.x);
    assert.ok(d.max <= EPS + 1e-6, `max |δ| ${d.max}`);
    assert.ok(d.max > 0.9 * EPS, 'the step reaches the border of the ball');
    assert.ok(d.min >= 0 && d.top <= 1);
    xAdv.dispose();
  });

  it('N-FGSM is not projected: perturbations reach beyond eps, up to 3·eps, inside [0, 1]', () => {
    const { xAdv } = adversarialRows(model, batch.x, batch.y, 'pgd-at', trainingAttack('n-fgsm', EPS), NO_EVASION, 3);
    const d = delta(xAdv, batch.x);
    assert.ok(d.max > EPS * 1.5, `max |δ| ${d.max} exceeds eps`);
    assert.ok(d.max <= 3 * EPS + 1e-6, `max |δ| ${d.max} ≤ 3·eps`);
    assert.ok(d.min >= 0 && d.top <= 1);
    xAdv.dispose();
  });

  it('are deterministic under a seed and differ between seeds', () => {
    for (const name of ['fgsm-rs', 'n-fgsm', 'pgd'] as const) {
      const attack = trainingAttack(name, EPS, name === 'pgd' ? { steps: 2 } : {});
      const a = adversarialRows(model, batch.x, batch.y, 'pgd-at', attack, NO_EVASION, 11).xAdv;
      const b = adversarialRows(model, batch.x, batch.y, 'pgd-at', attack, NO_EVASION, 11).xAdv;
      const c = adversarialRows(model, batch.x, batch.y, 'pgd-at', attack, NO_EVASION, 12).xAdv;
      assert.equal(delta(a, b).max, 0, `${name}: same seed, same examples`);
      assert.ok(delta(a, c).max > 0, `${name}: another seed, another start`);
      tf.dispose([a, b, c]);
    }
  });

  it('router-evading rows raise P(clean) compared with the plain attack from the same start', () => {
    const attack = trainingAttack('fgsm-rs', EPS);
    const evasion = { share: 1, lambdas: [10] };
    const plain = adversarialRows(model, batch.x, batch.y, 'pgd-at', attack, NO_EVASION, 5);
    const evading = adversarialRows(model, batch.x, batch.y, 'pgd-at', attack, evasion, 5);
    assert.equal(evading.evading, 32);
    assert.equal(plain.evading, 0);
    const p = (x: tf.Tensor4D): number => tf.tidy(() => tf.mean(model.forward(x, { training: false }).pClean!).dataSync()[0]!);
    assert.ok(p(evading.xAdv) > p(plain.xAdv), `P(clean) ${p(evading.xAdv)} vs ${p(plain.xAdv)}`);
    tf.dispose([plain.xAdv, evading.xAdv]);
  });

  it('router-evading rows take their own step size and the other rows the attack\'s', () => {
    // No random start, one step: each row's largest |δ| is exactly its step.
    const attack = trainingAttack('pgd', EPS, { steps: 1, stepSize: 0.1, noise: 0 });
    const { xAdv, evading } = adversarialRows(model, batch.x, batch.y, 'pgd-at', attack, { share: 0.25, lambdas: [10], stepSize: 0.02 }, 5);
    assert.equal(evading, 8);
    const rows = tf.tidy(() => tf.max(tf.abs(tf.sub(xAdv, batch.x)), [1, 2, 3]).arraySync() as number[]);
    rows.forEach((m, i) => {
      const step = i < 8 ? 0.02 : 0.1;
      assert.ok(Math.abs(m - step) < 1e-5, `row ${i}: max |δ| ${m}, step ${step}`);
    });
    assert.deepEqual([...rowStepSizes(4, 1, attack, { share: 0.25, lambdas: [1], stepSize: 0.5 })], [0.5, 0.1, 0.1, 0.1].map(Math.fround));
    assert.deepEqual([...rowStepSizes(3, 1, attack, { share: 0.25, lambdas: [1] })], [0.1, 0.1, 0.1].map(Math.fround));
    xAdv.dispose();
  });

  it('a model without a router gets no evading rows', () => {
    assert.equal(evadingRows(10, { share: 0.5, lambdas: [1] }, false), 0);
    assert.equal(evadingRows(10, { share: 0.5, lambdas: [1] }, true), 5);
    assert.deepEqual([...rowLambdas(4, 2, [7], 1)], [7, 7, 0, 0]);
  });
});

describe('the training batch layout', () => {
  before(useWasm);

  it('labels clean rows (benign-corrupted ones included) clean and every adversarial row, evading or not, adversarial', () => {
    assert.deepEqual([...typeLabels(3, 6)], [0, 0, 0, 1, 1, 1]);
  });

  it('with --evasion-omega clean, evading rows take their clean image\'s ω and every other row keeps its own', () => {
    assert.deepEqual([...cleanOmegaRows(3, 2)], [0, 1, 2, 0, 1, 5]);
    const model = createModel(buildConfig('fmnist-tiny', 'awnet', { main: { stem: 4, widths: [4, 8, 8] }, router: { stem: 4, widths: [4, 4, 4] } }), 1);
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const both = tf.concat([x, tf.clipByValue(tf.add(x, tf.randomUniform([8, 28, 28, 1], -0.3, 0.3, 'float32', 2)), 0, 1)]) as tf.Tensor4D;
    const logits = (omegaRows?: Int32Array): number[] =>
      tf.tidy(() => [...model.forward(both, { training: true, cleanCount: 16, ...(omegaRows ? { omegaRows } : {}) }).logits.dataSync()]);
    try {
      const own = logits();
      const identity = logits(Int32Array.from({ length: 16 }, (_, i) => i));
      own.forEach((v, i) => assert.ok(Math.abs(v - identity[i]!) < 1e-5, `identity mapping changed logit ${i}`));
      const clean = logits(cleanOmegaRows(8, 8));
      assert.ok(clean.some((v, i) => Math.abs(v - own[i]!) > 1e-4), "the clean images' ω changes what the evading rows compute");
    } finally {
      tf.dispose([x, both]);
      model.dispose();
    }
  });

  it('routes evading adversarial rows through BN_clean: with every row evading, BN_adv statistics do not move', () => {
    const model = createModel(buildConfig('fmnist-tiny', 'awnet', { main: { stem: 4, widths: [4, 8, 8] }, router: { stem: 4, widths: [4, 4, 4] } }), 1);
    const ctx = { model, optimizer: tf.train.sgd(0.01), mode: 'pgd-at' as const, tradesBeta: 6, weightDecay: 0 };
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const xAdv = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const running = (part: 'clean' | 'adv'): Float32Array => {
      const name = [...model.namedVariables().keys()].find((k) => k.includes(`/${part}/`) && k.endsWith('moving_mean'))!;
      return model.namedVariables().get(name)!.dataSync() as Float32Array;
    };
    try {
      const advBefore = running('adv').slice();
      const cleanBefore = running('clean').slice();
      trainStep(ctx, x, xAdv, y, { alphaNat: 0.5, alphaAdv: 0.5 }, decayingVariables(model), 8);
      assert.deepEqual([...running('adv')], [...advBefore], 'BN_adv saw no rows');
      assert.notDeepEqual([...running('clean')], [...cleanBefore], 'BN_clean saw them all');
      trainStep(ctx, x, xAdv, y, { alphaNat: 0.5, alphaAdv: 0.5 }, decayingVariables(model), 0);
      assert.notDeepEqual([...running('adv')], [...advBefore], 'without evading rows BN_adv takes the adversarial half');
    } finally {
      tf.dispose([x, xAdv, y]);
      model.dispose();
    }
  });
});
