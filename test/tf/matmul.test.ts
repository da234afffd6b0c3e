import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../../src/tf/backend.js';
import {
  installWasmTrainingKernels,
  uninstallWasmTrainingKernels,
  wasmTrainingKernelsInstalled,
} from '../../src/tf/wasm-kernels.js';
import { assertSameOnWasmAndCpu, operand } from './compare.js';

describe('matMul on the wasm backend', () => {
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    tf.env().set('IS_TEST', true);
  });

  it('gives the cpu backend’s results for every transpose combination, 2-D and batched', async () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const a = operand(ta ? [7, 5] : [5, 7], 1);
      const b = operand(tb ? [3, 7] : [7, 3], 2);
      await assertSameOnWasmAndCpu(`2-D ta=${ta} tb=${tb}`, [a, b], (x, y) => tf.matMul(x!, y!, ta, tb));
      const a3 = operand(ta ? [4, 7, 5] : [4, 5, 7], 3);
      const b3 = operand(tb ? [4, 3, 7] : [4, 7, 3], 4);
      await assertSameOnWasmAndCpu(`batched ta=${ta} tb=${tb}`, [a3, b3], (x, y) => tf.matMul(x!, y!, ta, tb));
    }
  });

  it('gives a dense layer’s gradients (plain and fused with bias and relu) as the cpu backend does', async () => {
    const x = operand([16, 12], 5);
    const w = operand([12, 10], 6);
    const b = operand([10], 7);
    await assertSameOnWasmAndCpu('dense', [x, w, b], (xs, ws, bs) =>
      tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.square(tf.add(tf.matMul(p, q), r))))([xs!, ws!, bs!]),
    );
    await assertSameOnWasmAndCpu('fused dense', [x, w, b], (xs, ws, bs) =>
      tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
        tf.sum(tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: r, activation: 'relu' })),
      )([xs!, ws!, bs!]),
    );
    const wt = operand([10, 12], 8);
    await assertSameOnWasmAndCpu('fused, transposeB', [x, wt, b], (xs, ws, bs) =>
      tf.fused.matMul({ a: xs as tf.Tensor2D, b: ws as tf.Tensor2D, transposeB: true, bias: bs, activation: 'relu' }),
    );
  });

  it('can put the backend’s own kernels back and reinstall the fast ones', async () => {
    await tf.setBackend('wasm');
    assert.equal(wasmTrainingKernelsInstalled(), true);
    uninstallWasmTrainingKernels();
    assert.equal(wasmTrainingKernelsInstalled(), false);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined, 'the stock wasm backend has no filter gradient');
    const stock = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 3]), false, true).dataSync());
    installWasmTrainingKernels();
    assert.equal(wasmTrainingKernelsInstalled(), true);
    assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    const fast = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 3]), false, true).dataSync());
    assert.deepEqual(Array.from(fast), Array.from(stock));
    assert.deepEqual(Array.from(fast), new Array(8).fill(3));
  });
});
