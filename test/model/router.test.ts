import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { createModel } from '../../src/model/awnet.js';
import { signalFromLogits } from '../../src/model/router.js';
import { images, maxAbsDiff, setValues, tinyConfig, useCpuBackend } from './helpers.js';

describe('adversarial router', () => {
  before(useCpuBackend);
  const model = createModel(tinyConfig('awnet'), 3);
  after(() => model.dispose());

  for (const beta of [0.5, 1, 3, 5, 8, 16]) {
    it(`ω stays strictly inside (0, 2^β) for extreme head inputs (β = ${beta})`, () => {
      const z = [-Infinity, -1e30, -1e4, -60, -20, -9, -1, 0, 1, 9, 20, 60, 1e4, 1e30, Infinity];
      const omega = Array.from(signalFromLogits(tf.tensor2d(z, [1, z.length]), beta).dataSync());
      omega.forEach((w, i) => {
        assert.ok(w > 0 && w < 2 ** beta, `z = ${z[i]}: ω = ${w}`);
      });
      assert.equal(omega[z.indexOf(0)], 1, 'tanh(0) + 1 = 1, so ω = 1');
      for (let i = 1; i < omega.length; i += 1) assert.ok(omega[i]! >= omega[i - 1]!, 'ω is monotone in z');
    });
  }

  it('ω = (tanh(W_j ψ + b_j) + 1)^β for every dynamic conv, and stays in (0, 2^β) with huge head weights', () => {
    const x = images(model.config, 4, 1);
    const routed = model.route(x)!;
    const beta = model.config.beta;
    assert.equal(routed.omegas.length, model.spec.dynamicConvs.length);
    model.spec.dynamicConvs.forEach((d, j) => {
      const head = model.router!.signalHeads[j]!;
      const want = tf.pow(tf.add(tf.tanh(tf.add(tf.matMul(routed.psi, head.kernel as tf.Tensor2D), head.bias)), 1), beta);
      assert.deepEqual(routed.omegas[j]!.shape, [4, d.outChannels]);
      assert.ok(maxAbsDiff(routed.omegas[j]!, want) < 1e-5);
    });

    for (const [j, head] of model.router!.signalHeads.entries()) {
      setValues(head.kernel, (i) => (i % 2 === 0 ? 1e6 : -1e6));
      setValues(head.bias, (i) => (i % 3 === 0 ? 1e4 * (j + 1) : -1e4));
    }
    const extreme = model.route(x)!;
    for (const omega of extreme.omegas) {
      const values = omega.dataSync();
      assert.ok(values.every((w) => w > 0 && w < 2 ** beta), `ω in (${Math.min(...values)}, ${Math.max(...values)})`);
    }
    const logits = model.forward(x, { training: false }).logits.dataSync();
    assert.ok(logits.every(Number.isFinite), 'the network stays finite');
  });

  it('ψ concatenates the pooled output of every router stage; P(clean) is softmax column 0', () => {
    const x = images(model.config, 3, 2);
    const routed = model.route(x)!;
    const widths = model.config.router.widths;
    assert.deepEqual(routed.psi.shape, [3, widths.reduce((a, b) => a + b, 0)]);
    const { stages } = model.router!.extractor.apply(model.normalize(x), { training: false, cleanCount: 3, pClean: null }, null);
    let offset = 0;
    stages.forEach((s, i) => {
      const pooled = tf.mean(s, [1, 2]);
      assert.ok(maxAbsDiff(tf.slice(routed.psi, [0, offset], [3, widths[i]!]), pooled) < 1e-6, `stage ${i + 1}`);
      offset += widths[i]!;
    });
    const head = model.router!.typeHead;
    const typeLogits = tf.add(tf.matMul(routed.psi, head.kernel as tf.Tensor2D), head.bias);
    assert.ok(maxAbsDiff(routed.typeLogits, typeLogits) < 1e-6);
    const p = tf.softmax(typeLogits).arraySync() as number[][];
    assert.ok(maxAbsDiff(routed.pClean, tf.tensor1d(p.map((r) => r[0]!))) < 1e-6);
  });
});
