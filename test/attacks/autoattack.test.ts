import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { apgdAdaptive, apgdCe, apgdTargeted } from '../../src/attacks/apgd-variants.js';
import { autoAttackParts, runCascade, type AutoAttackConfig, type CascadePart } from '../../src/attacks/autoattack.js';
import { fabTargeted, projectOntoHyperplane } from '../../src/attacks/fab.js';
import { modelOracle } from '../../src/attacks/score-oracle.js';
import { squareAttack } from '../../src/attacks/square.js';
import { mulberry32 } from '../../src/model/init.js';
import type { Model } from '../../src/model/types.js';
import { LinearModel } from './linear-model.js';
import { fashionBatch, TinyModel, useWasm, type Batch } from './tiny-model.js';

const TINY: AutoAttackConfig = { apgdSteps: 4, apgdRestarts: 1, apgdTargets: 2, fabSteps: 3, fabTargets: 2, fabRestarts: 2, squareQueries: 25 };

type Attack = (model: Model, x: tf.Tensor4D, y: tf.Tensor1D, eps: number) => Promise<tf.Tensor4D>;

const square = (lambda?: number, levels?: number): Attack => async (m, x, y, eps) => {
  const r = await squareAttack(modelOracle(m), x.dataSync() as Float32Array, y.dataSync() as Int32Array, { eps, queries: 25, seed: 2, lambda, levels });
  return tf.tensor4d(r.adversarial, x.shape);
};

const ATTACKS: Record<string, Attack> = {
  'apgd-ce': async (m, x, y, eps) => apgdCe(m, x, y, { eps, steps: 5, seed: 1 }).xAdv,
  'apgd-t': async (m, x, y, eps) => apgdTargeted(m, x, y, { eps, steps: 4, targets: 2, seed: 1 }).xAdv,
  'apgd-adaptive': async (m, x, y, eps) => apgdAdaptive(m, x, y, { eps, steps: 5, restarts: 2, seed: 1 }).xAdv,
  'fab-t': async (m, x, y, eps) => fabTargeted(m, x, y, { eps, steps: 4, targets: 2, restarts: 2, seed: 1 }).xAdv,
  square: square(),
  'square-adaptive': square(1),
  'square on the 8-bit grid': square(undefined, 255),
  autoattack: async (m, x, y, eps) => (await runCascade(m, x, y, autoAttackParts(eps, TINY), 's')).xAdv,
};

function delta(xAdv: tf.Tensor4D, x: tf.Tensor4D): { max: number; lo: number; hi: number } {
  const a = xAdv.dataSync();
  const b = x.dataSync();
  let max = 0;
  let lo = Infinity;
  let hi = -Infinity;
  a.forEach((v, i) => {
    max = Math.max(max, Math.abs(v - (b[i] as number)));
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  });
  return { max, lo, hi };
}

const meanScore = (model: Model, x: tf.Tensor4D): number =>
  tf.tidy(() => tf.mean(tf.sub(1, model.forward(x, { training: false }).pClean as tf.Tensor1D)).dataSync()[0] as number);

describe('the AutoAttack family', () => {
  let tiny: TinyModel;
  let batch: Batch;
  before(async () => {
    await useWasm();
    tiny = new TinyModel({ seed: 3 });
    const images = await fashionBatch('test', 10, 200);
    // The model's own answers as labels: every image is right when clean, so every part runs.
    const own = tf.tidy(() => tf.argMax(tiny.forward(images.x, { training: false }).logits, 1).toInt() as tf.Tensor1D);
    images.y.dispose();
    batch = { x: images.x, y: own };
  });
  after(() => {
    tiny.dispose();
    tf.dispose([batch.x, batch.y]);
  });

  for (const [name, attack] of Object.entries(ATTACKS)) {
    it(`${name} stays inside the eps-ball and [0, 1] and leaves no tensor behind`, async () => {
      for (const eps of [0.1, 0.3]) {
        const before = tf.memory().numTensors;
        const xAdv = await attack(tiny, batch.x, batch.y, eps);
        const d = delta(xAdv, batch.x);
        xAdv.dispose();
        // FAB looks for the smallest perturbation, so "moved" is all that can be asked of every attack.
        assert.ok(d.max > 0, `eps ${eps}: the attack did not move the input`);
        assert.ok(d.max <= eps + 1e-6, `eps ${eps}: max |x_adv − x| = ${d.max}`);
        assert.ok(d.lo >= 0 && d.hi <= 1, `eps ${eps}: x_adv in [${d.lo}, ${d.hi}]`);
        assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      }
    });
  }

  it("FAB's projection is the smallest L∞ step onto the hyperplane inside the box", () => {
    const next = mulberry32(3);
    const rows = 40;
    const d = 7;
    const p = Float32Array.from({ length: rows * d }, () => next());
    const w = Float32Array.from({ length: rows * d }, () => (next() < 0.15 ? 0 : 2 * next() - 1));
    const b = Float32Array.from({ length: rows }, () => 3 * next() - 1);
    const delta = tf.tidy(() => projectOntoHyperplane(tf.tensor2d(p, [rows, d]), tf.tensor2d(w, [rows, d]), tf.tensor1d(b)).dataSync());
    for (let r = 0; r < rows; r++) {
      const at = (i: number): number => r * d + i;
      const c = (b[r] as number) - [...Array(d).keys()].reduce((s, i) => s + (w[at(i)] as number) * (p[at(i)] as number), 0);
      // Brute force: the gain of moving every coordinate by at most t towards the plane, bisected.
      const gain = (t: number): number =>
        [...Array(d).keys()].reduce((s, i) => {
          const wi = w[at(i)] as number;
          const room = wi * c > 0 ? 1 - (p[at(i)] as number) : (p[at(i)] as number);
          return s + Math.abs(wi) * Math.min(t, room);
        }, 0);
      let [lo, hi] = [0, 1];
      for (let k = 0; k < 60; k++) [lo, hi] = gain((lo + hi) / 2) >= Math.abs(c) ? [lo, (lo + hi) / 2] : [(lo + hi) / 2, hi];
      const step = [...Array(d).keys()].map((i) => delta[at(i)] as number);
      const norm = Math.max(...step.map(Math.abs));
      const reached = step.reduce((s, v, i) => s + v * (w[at(i)] as number), 0);
      step.forEach((v, i) => assert.ok((p[at(i)] as number) + v >= -1e-6 && (p[at(i)] as number) + v <= 1 + 1e-6, `row ${r}: leaves the box`));
      if (gain(1) >= Math.abs(c)) {
        assert.ok(Math.abs(norm - hi) < 1e-4, `row ${r}: ‖δ‖∞ ${norm}, smallest ${hi}`);
        assert.ok(Math.abs(reached - c) < 1e-4, `row ${r}: w·δ ${reached}, needed ${c}`);
      } else {
        assert.ok(Math.abs(reached) <= Math.abs(c) && Math.abs(Math.abs(reached) - gain(1)) < 1e-4, `row ${r}: unreachable plane, every coordinate to its bound`);
      }
    }
  });

  it('the cascade attacks only the images every earlier part failed on, never those wrong when clean', async () => {
    const model = new LinearModel({ side: 6, seed: 9 });
    const next = mulberry32(4);
    const n = 30;
    const pixels = Float32Array.from({ length: n * 36 }, () => next());
    // The first ten labels are the model's own answer shifted by one: wrong when clean.
    const labels = Int32Array.from({ length: n }, (_, i) => {
      const z = model.logits(pixels.subarray(i * 36, (i + 1) * 36));
      const top = z.indexOf(Math.max(...z));
      return i < 10 ? (top + 1) % 10 : top;
    });
    const x = tf.tensor4d(pixels, [n, 6, 6, 1]);
    const y = tf.tensor1d(labels, 'int32');
    const rowOf = (image: Float32Array): number => [...Array(n).keys()].find((i) => pixels.subarray(i * 36, (i + 1) * 36).every((v, j) => v === image[j])) ?? -1;
    const seen: number[][] = [];
    const spy = (id: string, inner?: (x: tf.Tensor4D, y: tf.Tensor1D) => tf.Tensor4D): CascadePart => ({
      id,
      label: id,
      run: async (_m, xs, ys) => {
        const data = xs.dataSync() as Float32Array;
        seen.push([...Array(xs.shape[0]).keys()].map((j) => rowOf(data.slice(j * 36, (j + 1) * 36))));
        return { xAdv: inner ? inner(xs, ys) : tf.clone(xs), queries: null };
      },
    });
    const result = await runCascade(model, x, y, [spy('apgd', (xs, ys) => apgdCe(model, xs, ys, { eps: 0.05, steps: 10, seed: 1 }).xAdv), spy('none'), spy('none-again')], 's');
    const [first, second, third] = seen;
    assert.deepEqual(first, [...Array(20).keys()].map((i) => i + 10), 'the first part gets exactly the images right when clean');
    const robustAfterFirst = result.parts[0]?.robust ?? -1;
    assert.ok(robustAfterFirst > 0 && robustAfterFirst < 20, `APGD fooled ${20 - robustAfterFirst} of 20: pick another eps`);
    assert.equal(second?.length, robustAfterFirst);
    assert.deepEqual(third, second, 'a part that fools nothing leaves the same images to the next');
    assert.deepEqual(result.parts.map((p) => p.attacked), [20, robustAfterFirst, robustAfterFirst]);
    // The images a part fooled are not handed on.
    const predicted = tf.tidy(() => tf.argMax(model.forward(result.xAdv, { training: false }).logits, 1).dataSync());
    for (let i = 10; i < n; i++) assert.equal(predicted[i] === labels[i], (second ?? []).includes(i), `image ${i}`);
    tf.dispose([x, y, result.xAdv]);
    model.dispose();
  });

  it('Square keeps to its query budget and stops on images it has fooled', async () => {
    const model = new LinearModel({ side: 6, seed: 9 });
    const inner = modelOracle(model);
    let queried = 0;
    const oracle = { ...inner, query: (images: Float32Array, count: number) => ((queried += count), inner.query(images, count)) };
    const next = mulberry32(5);
    const n = 12;
    const pixels = Float32Array.from({ length: n * 36 }, () => next());
    const labels = Int32Array.from({ length: n }, (_, i) => {
      const z = model.logits(pixels.subarray(i * 36, (i + 1) * 36));
      return z.indexOf(Math.max(...z));
    });
    for (const lambda of [undefined, 1]) {
      queried = 0;
      const r = await squareAttack(oracle, pixels, labels, { eps: 0.08, queries: 40, seed: 1, lambda });
      assert.equal(r.queries.reduce((a, q) => a + q, 0), queried, 'every image the oracle saw is counted');
      assert.ok(r.queries.every((q) => q >= 1 && q <= 40), `queries per image: ${r.queries.join(',')}`);
      if (lambda === undefined) {
        assert.ok(r.fooled.includes(1) && r.fooled.includes(0), `fooled: ${r.fooled.join('')}; pick another eps`);
        r.queries.forEach((q, i) => assert.ok(r.fooled[i] === 1 || q === 40, `image ${i} stopped at ${q} queries without success`));
        assert.ok(r.queries.some((q, i) => r.fooled[i] === 1 && q < 40), 'no image was fooled before the budget ran out');
      } else {
        assert.ok(r.queries.every((q) => q === 40), 'the detector-aware attack uses its whole budget');
      }
    }
    model.dispose();
  });

  it('the detector-aware attacks lower the adversarial score of a model whose router they see', async () => {
    const model = new LinearModel({ side: 6, seed: 12, router: true });
    const next = mulberry32(6);
    const n = 24;
    const pixels = Float32Array.from({ length: n * 36 }, () => next());
    const labels = Int32Array.from({ length: n }, (_, i) => {
      const z = model.logits(pixels.subarray(i * 36, (i + 1) * 36));
      return z.indexOf(Math.max(...z));
    });
    const x = tf.tensor4d(pixels, [n, 6, 6, 1]);
    const y = tf.tensor1d(labels, 'int32');
    const eps = 0.08;
    const plain = apgdCe(model, x, y, { eps, steps: 20, seed: 1 }).xAdv;
    const aware = apgdAdaptive(model, x, y, { eps, steps: 20, lambda: 1, seed: 1 }).xAdv;
    const [plainScore, awareScore, clean] = [meanScore(model, plain), meanScore(model, aware), meanScore(model, x)];
    assert.ok(awareScore < plainScore - 0.1, `APGD: adaptive ${awareScore} vs plain ${plainScore}`);
    assert.ok(awareScore < clean, `APGD: adaptive ${awareScore} vs clean ${clean}`);
    const run = async (lambda?: number): Promise<number> => {
      const r = await squareAttack(modelOracle(model), pixels, labels, { eps, queries: 60, seed: 3, lambda });
      const t = tf.tensor4d(r.adversarial, [n, 6, 6, 1]);
      const s = meanScore(model, t);
      t.dispose();
      return s;
    };
    const [squarePlain, squareAware] = [await run(), await run(1)];
    assert.ok(squareAware < squarePlain - 0.1, `Square: adaptive ${squareAware} vs plain ${squarePlain}`);
    tf.dispose([x, y, plain, aware]);
    model.dispose();
  });
});
