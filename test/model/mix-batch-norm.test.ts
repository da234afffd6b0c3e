import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { BN_EPSILON } from '../../src/model/architecture.js';
import { BatchNorm, type NormContext } from '../../src/model/batch-norm.js';
import { MixBatchNorm } from '../../src/model/mix-batch-norm.js';
import { VariableStore } from '../../src/model/variable-store.js';
import { maxAbsDiff, setValues, uniform, useCpuBackend } from './helpers.js';

const C = 3;
const [N, H, W] = [5, 4, 4];

/** Rows of h [N,H,W,C] as nested arrays: values[n][pixel][c]. */
function rows(h: tf.Tensor4D): number[][][] {
  const data = h.dataSync();
  const per = h.shape[1] * h.shape[2];
  return Array.from({ length: h.shape[0] }, (_, n) =>
    Array.from({ length: per }, (_, p) => Array.from({ length: C }, (_, c) => data[(n * per + p) * C + c] as number)),
  );
}

function stats(values: number[][][], c: number): { mean: number; biased: number; unbiased: number } {
  const xs = values.flatMap((r) => r.map((px) => px[c] as number));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const ss = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, biased: ss / xs.length, unbiased: ss / (xs.length - 1) };
}

/** BN(h) at inference, computed element by element from the variables' values. */
function directBn(bn: BatchNorm, h: tf.Tensor4D): Float32Array {
  const [g, b, m, v] = [bn.gamma, bn.beta, bn.movingMean, bn.movingVariance].map((t) => t.dataSync());
  return Float32Array.from(h.dataSync(), (x, i) => {
    const c = i % C;
    return ((x - m![c]!) / Math.sqrt(v![c]! + BN_EPSILON)) * g![c]! + b![c]!;
  });
}

function randomiseBn(bn: BatchNorm, seed: number): void {
  const u = uniform(4 * C, seed);
  setValues(bn.gamma, (i) => 0.5 + u[i]!);
  setValues(bn.beta, (i) => u[C + i]! - 0.5);
  setValues(bn.movingMean, (i) => 2 * u[2 * C + i]! - 1);
  setValues(bn.movingVariance, (i) => 0.2 + 3 * u[3 * C + i]!);
}

describe('BatchNorm and MixBN', () => {
  before(useCpuBackend);
  const h = (): tf.Tensor4D => tf.tensor4d(uniform(N * H * W * C, 11, -2, 2), [N, H, W, C]);
  const inference = (pClean: tf.Tensor1D | null): NormContext => ({ training: false, cleanCount: N, pClean });

  it('BN at inference normalises with running statistics', () => {
    const store = new VariableStore();
    const bn = new BatchNorm(store, 'bn', C, 0.9);
    randomiseBn(bn, 1);
    const x = h();
    assert.ok(maxAbsDiff(bn.apply(x, inference(null)), tf.tensor(directBn(bn, x), x.shape)) < 1e-5);
    store.dispose();
  });

  it('MixBN inference equals (1 − p)·BN_adv(h) + p·BN_clean(h) per sample', () => {
    const store = new VariableStore();
    const mix = new MixBatchNorm(store, 'mix', C, 0.9);
    randomiseBn(mix.clean, 2);
    randomiseBn(mix.adv, 3);
    const x = h();
    const p = [0, 0.3, 1, 0.77, 0.5];
    const clean = directBn(mix.clean, x);
    const adv = directBn(mix.adv, x);
    const per = H * W * C;
    const expected = Float32Array.from(clean, (cv, i) => {
      const pn = p[Math.floor(i / per)]!;
      return (1 - pn) * adv[i]! + pn * cv;
    });
    const y = mix.apply(x, inference(tf.tensor1d(p)));
    assert.ok(maxAbsDiff(y, tf.tensor(expected, x.shape)) < 1e-5, `max |Δ| ${maxAbsDiff(y, tf.tensor(expected, x.shape))}`);
    // The two BNs differ, so the mixing weight matters.
    assert.ok(maxAbsDiff(tf.tensor(clean), tf.tensor(adv)) > 0.1);
    // Without a P(clean): BN_clean alone.
    assert.ok(maxAbsDiff(mix.apply(x, inference(null)), tf.tensor(clean, x.shape)) < 1e-5);
    store.dispose();
  });

  it('MixBN training sends clean rows to BN_clean and the rest to BN_adv, each with its own statistics', () => {
    const store = new VariableStore();
    const momentum = 0.9;
    const mix = new MixBatchNorm(store, 'mix', C, momentum);
    randomiseBn(mix.clean, 4);
    randomiseBn(mix.adv, 5);
    const before = [mix.clean, mix.adv].map((bn) => ({ m: bn.movingMean.dataSync().slice(), v: bn.movingVariance.dataSync().slice() }));
    // Clean and adversarial rows with clearly different statistics.
    const x = tf.tidy(() => {
      const base = h();
      const shift = tf.tensor4d([3, 3, -4, -4, -4], [N, 1, 1, 1]);
      return tf.add(tf.mul(base, tf.tensor4d([1, 1, 2.5, 2.5, 2.5], [N, 1, 1, 1])), shift) as tf.Tensor4D;
    });
    const cleanCount = 2;
    const y = mix.apply(x, { training: true, cleanCount, pClean: null });
    const xr = rows(x);
    const yr = rows(y);
    const parts = [
      { bn: mix.clean, xs: xr.slice(0, cleanCount), ys: yr.slice(0, cleanCount), old: before[0]! },
      { bn: mix.adv, xs: xr.slice(cleanCount), ys: yr.slice(cleanCount), old: before[1]! },
    ];
    for (const { bn, xs, ys, old } of parts) {
      const [g, b, m, v] = [bn.gamma, bn.beta, bn.movingMean, bn.movingVariance].map((t) => t.dataSync());
      for (let c = 0; c < C; c += 1) {
        const s = stats(xs, c);
        assert.ok(Math.abs(m![c]! - (momentum * old.m[c]! + (1 - momentum) * s.mean)) < 1e-5, `${bn.name} running mean`);
        assert.ok(Math.abs(v![c]! - (momentum * old.v[c]! + (1 - momentum) * s.unbiased)) < 1e-4, `${bn.name} running variance`);
        xs.forEach((r, n) =>
          r.forEach((px, p) => {
            const want = ((px[c]! - s.mean) / Math.sqrt(s.biased + BN_EPSILON)) * g![c]! + b![c]!;
            assert.ok(Math.abs(ys[n]![p]![c]! - want) < 1e-4, `${bn.name} output`);
          }),
        );
      }
    }
    store.dispose();
  });

  it("each BN's running statistics move only with its own rows", () => {
    const store = new VariableStore();
    const mix = new MixBatchNorm(store, 'mix', C, 0.9);
    const snapshot = (): number[] => [mix.clean, mix.adv].flatMap((bn) => [...bn.movingMean.dataSync(), ...bn.movingVariance.dataSync()]);
    const initial = snapshot();
    mix.apply(h(), { training: true, cleanCount: N, pClean: null });
    const afterClean = snapshot();
    assert.notDeepEqual(afterClean.slice(0, 2 * C), initial.slice(0, 2 * C), 'BN_clean moved');
    assert.deepEqual(afterClean.slice(2 * C), initial.slice(2 * C), 'BN_adv untouched by an all-clean batch');
    mix.apply(h(), { training: true, cleanCount: 0, pClean: null });
    const afterAdv = snapshot();
    assert.deepEqual(afterAdv.slice(0, 2 * C), afterClean.slice(0, 2 * C), 'BN_clean untouched by an all-adversarial batch');
    assert.notDeepEqual(afterAdv.slice(2 * C), afterClean.slice(2 * C), 'BN_adv moved');
    store.dispose();
  });

  it("the gradient of BN_clean's parameters depends on clean rows only", () => {
    const store = new VariableStore();
    const mix = new MixBatchNorm(store, 'mix', C, 0.9);
    const weights = tf.tensor4d(uniform(N * H * W * C, 21, -1, 1), [N, H, W, C]);
    const gradsFor = (x: tf.Tensor4D): tf.Tensor[] => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(mix.apply(x, { training: true, cleanCount: 2, pClean: null }), weights)) as tf.Scalar,
        [mix.clean.gamma, mix.adv.gamma],
      );
      value.dispose();
      return [grads[mix.clean.gamma.name]!, grads[mix.adv.gamma.name]!];
    };
    const x1 = h();
    const x2 = tf.concat([tf.slice(x1, [0], [2]), tf.mul(tf.slice(x1, [2], [3]), -3)]) as tf.Tensor4D;
    const [g1Clean, g1Adv] = gradsFor(x1);
    const [g2Clean, g2Adv] = gradsFor(x2);
    assert.ok(maxAbsDiff(g1Clean!, g2Clean!) < 1e-5, 'changing adversarial rows leaves the BN_clean gradient unchanged');
    assert.ok(maxAbsDiff(g1Adv!, g2Adv!) > 1e-3, 'but changes the BN_adv gradient');
    store.dispose();
  });
});
