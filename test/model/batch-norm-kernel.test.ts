import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { BN_EPSILON } from '../../src/model/architecture.js';
import { groupedBatchNorm } from '../../src/model/batch-norm-kernel.js';
import { MixBatchNorm } from '../../src/model/mix-batch-norm.js';
import { VariableStore } from '../../src/model/variable-store.js';
import { maxAbsDiff, setValues, uniform, useCpuBackend } from './helpers.js';

/** The textbook formula, differentiated by tfjs' autodiff. */
function reference(h: tf.Tensor3D, gamma: tf.Tensor3D, beta: tf.Tensor3D): tf.Tensor3D {
  const { mean, variance } = tf.moments(h, 1, true);
  return tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), gamma), beta) as tf.Tensor3D;
}

describe('grouped batch-norm kernel', () => {
  before(useCpuBackend);

  for (const groups of [1, 2, 3]) {
    it(`value and hand-written gradient match autodiff of the formula (G = ${groups})`, () => {
      const [m, c] = [37, 5];
      const h = tf.tensor3d(uniform(groups * m * c, 1, -3, 5), [groups, m, c]);
      const gamma = tf.tensor3d(uniform(groups * c, 2, 0.5, 2), [groups, 1, c]);
      const beta = tf.tensor3d(uniform(groups * c, 3, -1, 1), [groups, 1, c]);
      // A non-uniform upstream gradient, so every term of dh matters.
      const weights = tf.tensor3d(uniform(groups * m * c, 4, -1, 1), [groups, m, c]);
      let seen: number[][] = [];
      const custom = (x: tf.Tensor3D, g: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D =>
        groupedBatchNorm(x, g, b, (mean, variance) => {
          seen = [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
        });
      const loss =
        (f: typeof reference) =>
        (...[x, g, b]: tf.Tensor[]): tf.Tensor =>
          tf.sum(tf.mul(f(x as tf.Tensor3D, g as tf.Tensor3D, b as tf.Tensor3D), weights));
      assert.ok(maxAbsDiff(custom(h, gamma, beta), reference(h, gamma, beta)) < 1e-5);
      const { mean, variance } = tf.moments(h, 1);
      assert.ok(maxAbsDiff(tf.tensor(seen[0]!), tf.reshape(mean, [-1])) < 1e-5, 'batch mean reported');
      assert.ok(maxAbsDiff(tf.tensor(seen[1]!), tf.reshape(variance, [-1])) < 1e-4, 'biased batch variance reported');
      const want = tf.grads(loss(reference))([h, gamma, beta]);
      const got = tf.grads(loss(custom))([h, gamma, beta]);
      ['h', 'gamma', 'beta'].forEach((name, i) => {
        const diff = maxAbsDiff(got[i]!, want[i]!);
        assert.ok(diff < 1e-4, `d${name}: max |Δ| ${diff}`);
      });
    });
  }

  it('MixBN on equal halves (one grouped pass) equals the two BNs run on their own rows', () => {
    const store = new VariableStore();
    const [n, size, c] = [4, 5, 3];
    const mix = new MixBatchNorm(store, 'mix', c, 0.8);
    const u = uniform(4 * c, 9);
    setValues(mix.clean.gamma, (i) => 0.5 + u[i]!);
    setValues(mix.adv.gamma, (i) => 1.5 - u[c + i]!);
    setValues(mix.adv.beta, (i) => u[2 * c + i]! - 0.5);
    const h = tf.tensor4d(uniform(n * size * size * c, 10, -2, 3), [n, size, size, c]);
    const weights = tf.tensor4d(uniform(n * size * size * c, 11, -1, 1), [n, size, size, c]);
    const vars = [mix.clean.gamma, mix.clean.beta, mix.adv.gamma, mix.adv.beta];
    const stats = (): number[] => [mix.clean, mix.adv].flatMap((bn) => [...bn.movingMean.dataSync(), ...bn.movingVariance.dataSync()]);
    const initial = { values: vars.map((v) => v.dataSync().slice()), stats: stats() };

    const run = (separate: boolean): { y: tf.Tensor; grads: tf.Tensor[]; stats: number[] } => {
      vars.forEach((v, i) => v.assign(tf.tensor(initial.values[i]!, v.shape)));
      [mix.clean, mix.adv].forEach((bn, i) => {
        bn.movingMean.assign(tf.tensor(initial.stats.slice(2 * c * i, 2 * c * i + c)));
        bn.movingVariance.assign(tf.tensor(initial.stats.slice(2 * c * i + c, 2 * c * (i + 1))));
      });
      const forward = (): tf.Tensor4D =>
        separate
          ? tf.concat([mix.clean.train(tf.slice(h, [0], [2])), mix.adv.train(tf.slice(h, [2], [2]))])
          : mix.train(h, 2);
      const y = forward();
      const afterForward = stats();
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(), weights)) as tf.Scalar, vars);
      return { y, grads: vars.map((v) => grads[v.name]!), stats: afterForward };
    };
    const grouped = run(false);
    const separate = run(true);
    assert.ok(maxAbsDiff(grouped.y, separate.y) < 1e-5);
    grouped.stats.forEach((s, i) => assert.ok(Math.abs(s - separate.stats[i]!) < 1e-5, `running statistic ${i}`));
    grouped.grads.forEach((g, i) => assert.ok(maxAbsDiff(g, separate.grads[i]!) < 1e-4, `gradient of ${vars[i]!.name}`));
    store.dispose();
  });
});
