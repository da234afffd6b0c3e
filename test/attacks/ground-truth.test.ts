import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { apgdCe, apgdTargeted } from '../../src/attacks/apgd-variants.js';
import { AUTOATTACK_STANDARD, autoAttackParts, runCascade } from '../../src/attacks/autoattack.js';
import { fabTargeted } from '../../src/attacks/fab.js';
import { pgd } from '../../src/attacks/pgd.js';
import { modelOracle } from '../../src/attacks/score-oracle.js';
import { squareAttack } from '../../src/attacks/square.js';
import { mulberry32 } from '../../src/model/init.js';
import { LinearModel } from './linear-model.js';
import { useWasm } from './tiny-model.js';

const N = 100;
const SIDE = 8;
/** How far above the exact robust accuracy an attack may land: 2 images of 100. */
const TOLERANCE = 0.02;

/**
 * Ground truth: on a linear model the exact L∞ robust accuracy is known in closed form
 * (`LinearModel.worstMargin`). eps is set to the median robustness radius of the images, so
 * about half of them can be fooled, many only just: an attack that does not reach the ball's
 * best vertex misses them. No attack can beat the exact value (every one stays in the ball),
 * so "within TOLERANCE" means it finds nearly every image that can be fooled.
 */
describe('attacks against the exact robust accuracy of a linear model', () => {
  let model: LinearModel;
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  let eps: number;
  let exact: number;

  const accuracy = (xAdv: tf.Tensor4D): number => {
    const predicted = tf.tidy(() => tf.argMax(model.forward(xAdv, { training: false }).logits, 1));
    const p = predicted.dataSync();
    const labels = y.dataSync();
    predicted.dispose();
    let correct = 0;
    for (let i = 0; i < N; i++) if (p[i] === labels[i]) correct++;
    return correct / N;
  };

  before(async () => {
    await useWasm();
    model = new LinearModel({ side: SIDE, classes: 10, seed: 3 });
    const next = mulberry32(11);
    const d = SIDE * SIDE;
    const pixels = Float32Array.from({ length: N * d }, () => next());
    const labels = new Int32Array(N);
    const radii: number[] = [];
    for (let i = 0; i < N; i++) {
      const img = pixels.subarray(i * d, (i + 1) * d);
      const z = model.logits(img);
      labels[i] = z.indexOf(Math.max(...z));
      radii.push(model.robustRadius(img, labels[i] as number));
    }
    // Halfway between the two middle radii: no image sits on the edge of robustness.
    const sorted = [...radii].sort((a, b) => a - b);
    eps = ((sorted[N / 2 - 1] as number) + (sorted[N / 2] as number)) / 2;
    exact = radii.filter((r) => r > eps).length / N;
    x = tf.tensor4d(pixels, [N, SIDE, SIDE, 1]);
    y = tf.tensor1d(labels, 'int32');
  });
  after(() => {
    tf.dispose([x, y]);
    model.dispose();
  });

  it('APGD, FAB-T, Square and the AutoAttack ensemble land within 2 points of the exact value; PGD-20 does not beat them', async (t) => {
    const figure = (name: string, run: () => tf.Tensor4D): number => {
      const xAdv = run();
      const a = accuracy(xAdv);
      xAdv.dispose();
      t.diagnostic(`${name}: robust accuracy ${(100 * a).toFixed(1)} % (exact ${(100 * exact).toFixed(1)} %, eps ${eps.toFixed(4)})`);
      assert.ok(a >= exact - 1e-9, `${name} claims ${a} below the exact ${exact}: it left the ball`);
      return a;
    };
    const pgdAcc = figure('PGD-20 ε/4', () => pgd(model, x, y, { eps, steps: 20, stepSize: eps / 4, seed: 1 }));
    const ce = figure('APGD-CE', () => apgdCe(model, x, y, { eps, seed: 1 }).xAdv);
    const targeted = figure('APGD-T', () => apgdTargeted(model, x, y, { eps, seed: 1 }).xAdv);
    const fab = figure('FAB-T', () => fabTargeted(model, x, y, { eps, seed: 1 }).xAdv);
    const sq = await squareAttack(modelOracle(model), x.dataSync() as Float32Array, y.dataSync() as Int32Array, { eps, seed: 1 });
    const square = figure('Square (5,000 queries)', () => tf.tensor4d(sq.adversarial, x.shape));
    const cascade = await runCascade(model, x, y, autoAttackParts(eps, AUTOATTACK_STANDARD), '1');
    const ensemble = figure('AutoAttack', () => cascade.xAdv);
    t.diagnostic(`cascade: ${cascade.parts.map((p) => `${p.id} on ${p.attacked} → ${p.robust} robust (${p.seconds.toFixed(1)} s)`).join(', ')}`);
    assert.ok(Math.min(ce, targeted) - exact <= TOLERANCE, `best APGD ${Math.min(ce, targeted)} vs exact ${exact}`);
    assert.ok(targeted - exact <= TOLERANCE, `APGD-T ${targeted} vs exact ${exact}`);
    assert.ok(fab - exact <= TOLERANCE, `FAB-T ${fab} vs exact ${exact}`);
    assert.ok(square - exact <= TOLERANCE, `Square ${square} vs exact ${exact}`);
    assert.ok(ensemble - exact <= TOLERANCE, `AutoAttack ${ensemble} vs exact ${exact}`);
    assert.ok(pgdAcc >= Math.min(ce, targeted) - TOLERANCE, `PGD-20 ${pgdAcc} beats APGD ${Math.min(ce, targeted)}`);
    assert.ok(pgdAcc >= ensemble - TOLERANCE, `PGD-20 ${pgdAcc} beats AutoAttack ${ensemble}`);
    assert.equal(cascade.parts.at(-1)?.robust, Math.round(ensemble * N));
  });
});
