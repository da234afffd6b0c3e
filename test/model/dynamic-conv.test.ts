import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { DynamicConv2D, scaleChannels } from '../../src/model/dynamic-conv.js';
import { VariableStore } from '../../src/model/variable-store.js';
import { maxAbsDiff, uniform, useCpuBackend } from './helpers.js';

describe('dynamic convolution', () => {
  before(useCpuBackend);

  for (const { stride, k, cin, cout } of [
    { stride: 1, k: 3, cin: 3, cout: 5 },
    { stride: 2, k: 3, cin: 4, cout: 6 },
    { stride: 2, k: 1, cin: 2, cout: 3 },
  ]) {
    it(`scaling filter m of sample n by ω[n,m] equals scaling output channel m (stride ${stride}, ${k}×${k})`, () => {
      const n = 3;
      const x = tf.tensor4d(uniform(n * 9 * 9 * cin, 1, -1, 1), [n, 9, 9, cin]);
      const kernel = tf.tensor4d(uniform(k * k * cin * cout, 2, -1, 1), [k, k, cin, cout]);
      const omega = tf.tensor2d(uniform(n * cout, 3, 0.01, 8), [n, cout]);
      // Reference: a separate conv per sample with its own filters ω_n ⊙ K (Eq. 11).
      const perSample = tf.concat(
        Array.from({ length: n }, (_, i) => {
          const w = tf.reshape(tf.slice(omega, [i, 0], [1, cout]), [1, 1, 1, cout]);
          const xi = tf.slice(x, [i, 0, 0, 0], [1, 9, 9, cin]) as tf.Tensor4D;
          return tf.conv2d(xi, tf.mul(kernel, w) as tf.Tensor4D, stride, 'same');
        }),
      );
      const scaled = scaleChannels(tf.conv2d(x, kernel, stride, 'same'), omega);
      assert.deepEqual(scaled.shape, perSample.shape);
      assert.ok(maxAbsDiff(scaled, perSample) < 1e-4, `max |Δ| ${maxAbsDiff(scaled, perSample)}`);
      // Different samples really get different filters.
      assert.ok(maxAbsDiff(scaled, tf.conv2d(x, kernel, stride, 'same')) > 0.1);
    });
  }

  it('DynamicConv2D scales its own kernel per sample and is static without ω', () => {
    const store = new VariableStore();
    const conv = new DynamicConv2D(
      store,
      { name: 'main/stage1/block0/conv1', kernelSize: 3, stride: 1, inChannels: 2, outChannels: 4, signal: 0 },
      7,
    );
    const x = tf.tensor4d(uniform(2 * 6 * 6 * 2, 4), [2, 6, 6, 2]);
    const omega = tf.tensor2d([0.5, 1, 2, 4, 8, 0.25, 1, 3], [2, 4]);
    const plain = conv.applyDynamic(x, null);
    assert.equal(maxAbsDiff(plain, tf.conv2d(x, conv.kernel as tf.Tensor4D, 1, 'same')), 0);
    const ref = tf.mul(plain, tf.reshape(omega, [2, 1, 1, 4]));
    assert.ok(maxAbsDiff(conv.applyDynamic(x, omega), ref) < 1e-6);
    assert.throws(() => conv.applyDynamic(x, tf.ones([2, 3]) as tf.Tensor2D), /ω has shape \[2, 3\], expected \[2, 4\]/);
    store.dispose();
  });
});
