import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { adaptiveAttack, cwInf, fgsm, perSampleCrossEntropy, pgd } from '../../src/attacks/index.js';
import { buildConfig, createModel, type AwNet } from '../../src/model/index.js';
import type { Variant } from '../../src/model/types.js';
import { fashionBatch, meanOf, useWasm, type Batch } from './tiny-model.js';

const EPS = 0.1;
const VARIANTS: Variant[] = ['awnet', 'mixbn-single-bn', 'dynamic-only', 'static'];

let batch: Batch;
const models = new Map<Variant, AwNet>();

function snapshot(model: AwNet): Map<string, Float32Array> {
  return new Map([...model.namedVariables()].map(([name, v]) => [name, Float32Array.from(v.dataSync())]));
}

describe('attacks on the real AW-Net (fmnist-tiny preset) and its ablation variants', () => {
  before(async () => {
    await useWasm();
    batch = await fashionBatch('test', 8, 500);
    for (const v of VARIANTS) models.set(v, createModel(buildConfig('fmnist-tiny', v), 7));
  });
  after(() => {
    for (const m of models.values()) m.dispose();
    batch.x.dispose();
    batch.y.dispose();
  });

  for (const variant of VARIANTS) {
    it(`${variant}: every attack stays in bounds, raises the loss, leaks nothing and changes no variable`, () => {
      const model = models.get(variant);
      assert.ok(model);
      const before = snapshot(model);
      const ce = (x: tf.Tensor4D): number =>
        tf.tidy(() => meanOf(perSampleCrossEntropy(model.forward(x, { training: false }).logits, batch.y)));
      const cleanCe = ce(batch.x);
      const tensors = tf.memory().numTensors;
      const runs: [string, () => tf.Tensor4D][] = [
        ['fgsm', () => fgsm(model, batch.x, batch.y, { eps: EPS })],
        ['pgd', () => pgd(model, batch.x, batch.y, { eps: EPS, steps: 3, stepSize: EPS / 3, seed: 1 })],
        ['cw', () => cwInf(model, batch.x, batch.y, { eps: EPS, steps: 2, seed: 1 })],
        ['adaptive', () => adaptiveAttack(model, batch.x, batch.y, { eps: EPS, steps: 2, seed: 1 })],
      ];
      for (const [name, run] of runs) {
        const xAdv = run();
        const [maxDelta, min, max] = tf.tidy(() => [
          tf.max(tf.abs(tf.sub(xAdv, batch.x))).dataSync()[0] ?? NaN,
          tf.min(xAdv).dataSync()[0] ?? NaN,
          tf.max(xAdv).dataSync()[0] ?? NaN,
        ]);
        assert.ok(maxDelta <= EPS + 1e-6 && maxDelta > 0, `${name}: max |Δ| ${maxDelta}`);
        assert.ok(min >= 0 && max <= 1, `${name}: range [${min}, ${max}]`);
        if (name === 'fgsm' || name === 'pgd') {
          const advCe = ce(xAdv);
          assert.ok(advCe > cleanCe, `${name}: CE ${advCe} not above clean ${cleanCe}`);
        }
        xAdv.dispose();
      }
      assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
      // Attacks run the model in inference mode: BN running statistics stay as they were.
      for (const [name, values] of snapshot(model)) assert.deepEqual(values, before.get(name), `${name} changed`);
    });
  }

  it('awnet: the adaptive attack drives the router towards "clean" where PGD does not', () => {
    const model = models.get('awnet');
    assert.ok(model);
    const pClean = (x: tf.Tensor4D): number =>
      tf.tidy(() => {
        const p = model.forward(x, { training: false }).pClean;
        assert.ok(p);
        return meanOf(p);
      });
    const plain = pgd(model, batch.x, batch.y, { eps: EPS, steps: 3, stepSize: EPS / 3, seed: 2 });
    const adaptive = adaptiveAttack(model, batch.x, batch.y, { eps: EPS, steps: 3, stepSize: EPS / 3, seed: 2 });
    const [clean, afterPgd, afterAdaptive] = [pClean(batch.x), pClean(plain), pClean(adaptive)];
    assert.ok(afterAdaptive > afterPgd && afterAdaptive > clean, `P(clean): clean ${clean}, PGD ${afterPgd}, adaptive ${afterAdaptive}`);
    tf.dispose([plain, adaptive]);
  });
});
