import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { objective } from '../../src/train/objective.js';
import { gairatWeights } from '../../src/train/objective-gairat.js';
import { averageMarginPenalty, logitMargins } from '../../src/train/objective-margin.js';
import { adversarialRows, NO_EVASION, trainingAttack } from '../../src/train/training-attack.js';
import { LinearModel } from '../attacks/linear-model.js';

// Each case is worked out by hand in the comments; the code only repeats the arithmetic.

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} ≠ ${b} (tol ${tol})`);

const read = (t: tf.Tensor): number[] => {
  const v = [...t.dataSync()];
  t.dispose();
  return v;
};
const scalar = (t: tf.Tensor): number => read(t)[0]!;

const LN3 = Math.log(3);
// Two classes; rows [0, 0], [ln 3, 0], [0, ln 3], all of label 0: P(label) = 1/2, 3/4, 1/4, so
// CE = ln 2 = 0.693147, ln 4/3 = 0.287682, ln 4 = 1.386294.
const ADV = [
  [0, 0],
  [LN3, 0],
  [0, LN3],
];
const CLEAN = [
  [1, 0],
  [1, 0],
  [1, 0],
];

describe('GAIRAT', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('weights (1 + tanh(λ + 5(1 − 2κ/K)))/2, normalised to mean 1', () => {
    // K 4, λ 0, κ 0/2/4: raw (1 + tanh 5)/2 = 0.9999546, 1/2, (1 − tanh 5)/2 = 0.0000454; they sum
    // to 1.5 (tanh is odd), so ×3/1.5 = ×2: 1.9999092, 1, 0.0000908.
    const w = read(gairatWeights(tf.tensor1d([0, 2, 4]), 4, 0));
    close(w[0]!, 1.9999092, 1e-6, 'κ 0');
    close(w[1]!, 1, 1e-6, 'κ K/2');
    close(w[2]!, 0.0000908, 1e-6, 'κ K');
    // λ −1, κ 1/3 of K 4: (1 + tanh 1.5)/2 = 0.952574, (1 + tanh(−3.5))/2 = 0.000911; ×2/0.953485.
    const v = read(gairatWeights(tf.tensor1d([1, 3]), 4, -1));
    close(v[0]!, 1.998089, 1e-5, 'λ −1, κ 1');
    close(v[1]!, 0.001911, 1e-5, 'λ −1, κ 3');
  });

  it('the adversarial term is the weighted CE; the burn-in and a missing κ weigh every row 1', () => {
    const logits = tf.tensor2d([...CLEAN, ...ADV]);
    const labels = tf.tensor1d([0, 0, 0], 'int32');
    const base = { mode: 'gairat' as const, out: { logits, typeLogits: null, pClean: null }, labels, cleanCount: 3, alphaNat: 0.5, alphaAdv: 0.5, tradesBeta: 6, gairatLambda: 0 };
    // (1.9999092·0.693147 + 1·0.287682 + 0.0000908·1.386294)/3 = 1.674039/3 = 0.558013.
    const reweighted = objective({ ...base, kappa: tf.tensor1d([0, 2, 4]), attackSteps: 4 });
    close(scalar(reweighted.adv), 0.558013, 2e-6, 'weighted CE');
    // Plain mean: (0.693147 + 0.287682 + 1.386294)/3 = 0.789041.
    close(scalar(objective({ ...base, kappa: tf.tensor1d([0, 2, 4]), attackSteps: 4, reweight: false }).adv), 0.789041, 2e-6, 'burn-in');
    close(scalar(objective(base).adv), 0.789041, 2e-6, 'no κ');
  });

  it('the row attacked at once pulls hardest: its true-class logit gradient is −w̃·(1 − p)/(2N)', () => {
    const labels = tf.tensor1d([0, 0, 0], 'int32');
    const g = tf.grad((l: tf.Tensor) =>
      objective({
        mode: 'gairat',
        out: { logits: l as tf.Tensor2D, typeLogits: null, pClean: null },
        labels,
        cleanCount: 3,
        alphaNat: 0.5,
        alphaAdv: 0.5,
        tradesBeta: 0,
        gairatLambda: 0,
        kappa: tf.tensor1d([0, 2, 4]),
        attackSteps: 4,
      }).total,
    )(tf.tensor2d([...CLEAN, ...ADV])).arraySync() as number[][];
    // Row 3 (κ 0): 0.5 · 1.9999092 · (1/2 − 1) / 3 = −0.166659; row 5 (κ K): 0.5 · 0.0000908 · (1/4 − 1) / 3 = −0.0000114.
    close(g[3]![0]!, -0.166659, 1e-5, 'κ 0 row');
    close(g[5]![0]!, -0.0000114, 1e-6, 'κ K row');
    assert.ok(g[3]![0]! < 0 && g[5]![0]! < 0, 'both gradients raise the true class');
  });

  it('the attack counts κ: iterates still classified correctly, start included, final excluded', () => {
    const model = new LinearModel({ side: 8, classes: 10, seed: 3 });
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const predicted = read(tf.argMax(model.forward(x, { training: false }).logits, 1));
    // Row 0 labelled as predicted, row 1 as another class; an eps of 1e-6 cannot change either answer.
    const labels = tf.tensor1d([predicted[0]!, (predicted[1]! + 1) % 10], 'int32');
    const attack = trainingAttack('pgd', 1e-6, { steps: 3 });
    const gairat = adversarialRows(model, x, labels, 'gairat', attack, NO_EVASION, 1);
    assert.deepEqual([...gairat.kappa!], [3, 0]);
    const plain = adversarialRows(model, x, labels, 'pgd-at', attack, NO_EVASION, 1);
    assert.equal(plain.kappa, null, 'pgd-at does not count');
    tf.dispose([x, labels, gairat.xAdv, plain.xAdv]);
    model.dispose();
  });
});

describe('the average-margin regulariser', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  // Three classes, label 0: margins 3 − 1 = 2, 0 − 2 = −2, 1 − 1 = 0.
  const ROWS = [
    [3, 1, 0],
    [0, 2, 1],
    [1, 1, 0],
  ];

  it('margins are the true logit minus the largest other; the penalty is mean max(0, τ − m)', () => {
    const labels = tf.tensor1d([0, 0, 0], 'int32');
    assert.deepEqual(read(logitMargins(tf.tensor2d(ROWS), labels)), [2, -2, 0]);
    // τ 1: (0 + 3 + 1)/3 = 4/3; τ 0: (0 + 2 + 0)/3 = 2/3.
    close(scalar(averageMarginPenalty(tf.tensor2d(ROWS), labels, 1)), 4 / 3, 1e-6, 'τ 1');
    close(scalar(averageMarginPenalty(tf.tensor2d(ROWS), labels, 0)), 2 / 3, 1e-6, 'τ 0');
  });

  it('L_adv = CE(adv) + μ·R(adv); its gradient raises a short margin and leaves a margin past τ alone', () => {
    const labels = tf.tensor1d([0, 0, 0], 'int32');
    const clean = [
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
    ];
    const base = { mode: 'margin' as const, labels, cleanCount: 3, alphaNat: 0, alphaAdv: 1, tradesBeta: 0, marginWeight: 0.5, marginCap: 1 };
    const withMargin = objective({ ...base, out: { logits: tf.tensor2d([...clean, ...ROWS]), typeLogits: null, pClean: null } });
    const ce = objective({ ...base, marginWeight: 0, out: { logits: tf.tensor2d([...clean, ...ROWS]), typeLogits: null, pClean: null } });
    close(scalar(withMargin.adv) - scalar(ce.adv), 0.5 * (4 / 3), 1e-5, 'μ·R');
    const gradOf = (weight: number): number[][] =>
      tf.grad((l: tf.Tensor) => objective({ ...base, marginWeight: weight, out: { logits: l as tf.Tensor2D, typeLogits: null, pClean: null } }).total)(
        tf.tensor2d([...clean, ...ROWS]),
      ).arraySync() as number[][];
    const g = gradOf(0.5);
    const g0 = gradOf(0);
    // Row 4 (margin −2 < τ): the term adds −μ/N = −1/6 on the true logit and +1/6 on the largest other.
    close(g[4]![0]! - g0[4]![0]!, -1 / 6, 1e-5, 'true logit of a short margin');
    close(g[4]![1]! - g0[4]![1]!, 1 / 6, 1e-5, 'largest other logit');
    // Row 3 (margin 2 > τ 1): nothing from the term.
    g[3]!.forEach((v, k) => close(v, g0[3]![k]!, 1e-7, `row past τ, class ${k}`));
  });
});
