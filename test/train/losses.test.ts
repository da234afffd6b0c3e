import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { AdaptiveAlpha, MTARD_ALPHA_RATE } from '../../src/train/adaptive-alpha.js';
import { correctCount, crossEntropy, klDivergence, perSampleKl, typeLoss } from '../../src/train/losses.js';
import { initialAlpha, objective } from '../../src/train/objective.js';
import { learningRate, type LrSchedule } from '../../src/train/schedule.js';

const close = (a: number, b: number, tol = 1e-5, what = ''): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} ≠ ${b} (tol ${tol})`);

function softmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

const value = (t: tf.Tensor): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe('loss pieces', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const A = [
    [2, 0.5, -1],
    [0, 0, 0],
    [-3, 4, 1],
  ];
  const B = [
    [1, 1, 1],
    [0.2, -0.5, 2],
    [-3, 4, 1],
  ];

  it('cross-entropy is the mean of −log softmax at the label', () => {
    const labels = [0, 2, 1];
    const expected = labels.reduce((s, l, i) => s - Math.log(softmax(A[i]!)[l]!), 0) / 3;
    close(value(crossEntropy(tf.tensor2d(A), tf.tensor1d(labels, 'int32'))), expected, 1e-6, 'CE');
  });

  it('KL(P_target ‖ P_student) matches Σ p log(p/q), is 0 for equal rows and positive otherwise', () => {
    const per = perSampleKl(tf.tensor2d(A), tf.tensor2d(B)).arraySync();
    A.forEach((row, i) => {
      const p = softmax(row);
      const q = softmax(B[i]!);
      close(per[i]!, p.reduce((s, pk, k) => s + pk * Math.log(pk / q[k]!), 0), 1e-6, `row ${i}`);
    });
    close(per[2]!, 0, 1e-7, 'identical rows');
    assert.ok(per[0]! > 0 && per[1]! > 0);
    close(value(klDivergence(tf.tensor2d(A), tf.tensor2d(B))), (per[0]! + per[1]! + per[2]!) / 3, 1e-6, 'mean');
    // The divergence is not symmetric: the target's probabilities weight the sum.
    assert.notEqual(value(klDivergence(tf.tensor2d(A), tf.tensor2d(B))), value(klDivergence(tf.tensor2d(B), tf.tensor2d(A))));
  });

  it('the type loss labels the first cleanCount rows clean (0) and the rest adversarial (1)', () => {
    const typeLogits = [
      [3, -3],
      [1, 0],
      [-2, 2],
      [0.5, 0.5],
    ];
    const expected = (-Math.log(softmax(typeLogits[0]!)[0]!) - Math.log(softmax(typeLogits[1]!)[0]!) - Math.log(softmax(typeLogits[2]!)[1]!) - Math.log(0.5)) / 4;
    close(value(typeLoss(tf.tensor2d(typeLogits), 2)), expected, 1e-6, 'type loss');
    assert.equal(value(correctCount(tf.tensor2d(typeLogits), tf.tensor1d([0, 0, 1, 1], 'int32'))), 3, 'rows 0–2 right; the tie in row 3 counts as class 0');
  });

  it('the smoothed type loss aims at 1 − s/2 / s/2, so a certain router pays for its certainty', () => {
    const typeLogits = [
      [3, -3],
      [-2, 2],
    ];
    const s = 0.1;
    const row = (l: number[], own: number): number => {
      const p = softmax(l);
      return -((1 - s / 2) * Math.log(p[own]!) + (s / 2) * Math.log(p[1 - own]!));
    };
    close(value(typeLoss(tf.tensor2d(typeLogits), 1, s)), (row(typeLogits[0]!, 0) + row(typeLogits[1]!, 1)) / 2, 1e-6, 'smoothed type loss');
    close(value(typeLoss(tf.tensor2d(typeLogits), 1, 0)), value(typeLoss(tf.tensor2d(typeLogits), 1)), 1e-9, 'smoothing 0 is the hard loss');
    // Hard labels reward ever larger logits; smoothed ones have their minimum at P = 1 − s/2.
    const certain = tf.tensor2d([[20, -20]]);
    const calibrated = tf.tensor2d([[Math.log(1 - s / 2) - Math.log(s / 2), 0]]);
    assert.ok(value(typeLoss(certain, 1)) < value(typeLoss(calibrated, 1)));
    assert.ok(value(typeLoss(certain, 1, s)) > value(typeLoss(calibrated, 1, s)));
  });

  it('the objective combines the pieces per mode as specified', () => {
    const logits = tf.tensor2d([...A, ...B]); // rows 0-2 clean, 3-5 adversarial
    const typeLogits = tf.tensor2d([
      [2, 0],
      [1, 1],
      [0, 3],
      [0, 1],
      [2, -1],
      [-1, 1],
    ]);
    const labels = tf.tensor1d([0, 2, 1], 'int32');
    const out = { logits, typeLogits, pClean: null };
    const ce = (rows: number[][]): number => value(crossEntropy(tf.tensor2d(rows), labels));
    const type = value(typeLoss(typeLogits, 3));
    const base = { out, labels, cleanCount: 3, tradesBeta: 6 };

    const at = objective({ ...base, mode: 'pgd-at', ...initialAlpha('pgd-at') });
    close(value(at.nat), ce(A), 1e-6, 'pgd-at nat');
    close(value(at.adv), ce(B), 1e-6, 'pgd-at adv');
    close(value(at.type), type, 1e-6, 'type');
    close(value(at.total), type + 0.5 * ce(A) + 0.5 * ce(B), 1e-5, 'pgd-at total');

    const trades = objective({ ...base, mode: 'trades', ...initialAlpha('trades') });
    const kl = value(klDivergence(tf.tensor2d(A), tf.tensor2d(B)));
    close(value(trades.nat), ce(A), 1e-6, 'trades nat');
    close(value(trades.adv), 6 * kl, 1e-5, 'trades adv = β·KL(clean ‖ adv)');
    close(value(trades.total), type + ce(A) + 6 * kl, 1e-5, 'trades total');

    const tClean = tf.tensor2d([
      [5, 0, 0],
      [0, 0, 5],
      [0, 5, 0],
    ]);
    const tAdv = tf.tensor2d([
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ]);
    const mtard = objective({ ...base, mode: 'mtard', alphaNat: 0.3, alphaAdv: 0.7, teacherCleanLogits: tClean, teacherAdvLogits: tAdv });
    const natKl = value(klDivergence(tClean, tf.tensor2d(A)));
    const advKl = value(klDivergence(tAdv, tf.tensor2d(B)));
    close(value(mtard.nat), natKl, 1e-6, 'mtard nat = KL(T_nat ‖ S) on clean rows');
    close(value(mtard.adv), advKl, 1e-6, 'mtard adv = KL(T_adv ‖ S) on adversarial rows');
    close(value(mtard.total), type + 0.7 * advKl + 0.3 * natKl, 1e-5, 'mtard total');
    assert.throws(() => objective({ ...base, mode: 'mtard', alphaNat: 0.5, alphaAdv: 0.5 }), /teacher/);

    const noRouter = objective({ ...base, out: { logits, typeLogits: null, pClean: null }, mode: 'pgd-at', ...initialAlpha('pgd-at') });
    assert.equal(value(noRouter.type), 0, 'the static baseline has no type loss');
    close(value(noRouter.total), 0.5 * ce(A) + 0.5 * ce(B), 1e-5, 'static total');
  });

  it('gradients of the clean-only loss do not reach the adversarial rows, and vice versa', () => {
    const labels = tf.tensor1d([0, 2, 1], 'int32');
    const g = tf.grad((l: tf.Tensor) =>
      objective({ out: { logits: l as tf.Tensor2D, typeLogits: null, pClean: null }, labels, cleanCount: 3, mode: 'pgd-at', alphaNat: 1, alphaAdv: 0, tradesBeta: 0 }).total,
    )(tf.tensor2d([...A, ...B])).arraySync() as number[][];
    assert.ok(g.slice(0, 3).some((row) => row.some((v) => v !== 0)));
    assert.ok(g.slice(3).every((row) => row.every((v) => v === 0)));
  });
});

describe('MTARD adaptive α', () => {
  it('starts at 0.5/0.5, records the first losses and follows α_nat −= 0.025·(α_nat − r_nat/(r_nat + r_adv))', () => {
    const a = new AdaptiveAlpha();
    assert.equal(a.alphaNat, 0.5);
    assert.equal(a.alphaAdv, 0.5);
    const losses: [number, number][] = [
      [2.0, 4.0],
      [1.0, 3.8],
      [0.6, 3.5],
      [0.5, 3.0],
      [0.4, 2.9],
    ];
    let alphaNat = 0.5;
    const [n0, a0] = losses[0]!;
    for (const [nat, adv] of losses) {
      a.update(nat, adv);
      const rNat = nat / n0;
      const rAdv = adv / a0;
      alphaNat = alphaNat - MTARD_ALPHA_RATE * (alphaNat - rNat / (rNat + rAdv));
      close(a.alphaNat, alphaNat, 1e-12, 'α_nat');
      close(a.alphaNat + a.alphaAdv, 1, 1e-12, 'α sum');
    }
    assert.equal(a.snapshot().initialNat, 2.0);
    assert.equal(a.snapshot().initialAdv, 4.0);
    // The natural loss fell much faster, so the adversarial term gained weight.
    assert.ok(a.alphaAdv > 0.5 && a.alphaNat < 0.5);
  });

  it('first step leaves α at 0.5 (both ratios are 1) and resumes exactly from a snapshot', () => {
    const a = new AdaptiveAlpha();
    a.update(3, 7);
    assert.equal(a.alphaNat, 0.5);
    a.update(1, 7);
    const b = new AdaptiveAlpha(JSON.parse(JSON.stringify(a.snapshot())));
    a.update(0.5, 6);
    b.update(0.5, 6);
    assert.deepEqual(b.snapshot(), a.snapshot());
    assert.throws(() => a.update(Number.NaN, 1), /finite/);
  });
});

describe('learning-rate schedules', () => {
  const base: LrSchedule = { name: 'cosine', baseLr: 0.1, totalSteps: 100, warmupSteps: 0, milestones: [0.5, 0.75], gamma: 0.1 };

  it('cosine falls from the base rate to zero, half-way at the middle', () => {
    close(learningRate(base, 0), 0.1, 1e-12);
    close(learningRate(base, 50), 0.05, 1e-12);
    close(learningRate(base, 100), 0, 1e-12);
    for (let s = 1; s <= 100; s++) assert.ok(learningRate(base, s) <= learningRate(base, s - 1));
  });

  it('step divides by 10 at 50% and 75%, constant stays, warm-up rises linearly from a tenth', () => {
    const step = { ...base, name: 'step' as const };
    close(learningRate(step, 49), 0.1, 1e-12);
    close(learningRate(step, 50), 0.01, 1e-12);
    close(learningRate(step, 75), 0.001, 1e-12);
    close(learningRate({ ...base, name: 'constant' }, 99), 0.1, 1e-12);
    const warm = { ...base, warmupSteps: 10 };
    close(learningRate(warm, 0), 0.01, 1e-12);
    close(learningRate(warm, 5), 0.055, 1e-12);
    close(learningRate(warm, 10), 0.1, 1e-12);
  });
});
