import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../../src/tf/backend.js';
import { assertSameOnWasmAndCpu, operand } from './compare.js';

describe('reductions, slices and copies on the wasm backend', () => {
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    tf.env().set('IS_TEST', true);
  });

  it('sum and mean over leading and middle axes agree with the cpu backend', async () => {
    const cases: [number[], number[]][] = [
      [[6, 5, 4, 3], [0, 1, 2]],
      [[6, 5, 4, 3], [1, 2]],
      [[6, 5, 4, 3], [0]],
      [[6, 5, 4, 3], [1]],
      [[6, 5, 4, 3], [2, 1]],
      [[6, 5, 4, 3], [0, 2]],
      [[6, 5, 4, 3], [3]],
      [[6, 5, 4, 3], [1, 2, 3]],
      [[2, 1201, 3], [1]],
      [[64, 7, 7, 16], [0, 1, 2]],
      [[3, 1031, 5], [1]],
    ];
    for (const [shape, axes] of cases) {
      const x = operand(shape, shape.length + axes.length);
      for (const keepDims of [false, true]) {
        const label = `[${shape.join(',')}] axes ${axes.join(',')} keepDims ${keepDims}`;
        await assertSameOnWasmAndCpu(`sum ${label}`, [x], (t) => tf.sum(t!, axes, keepDims));
        await assertSameOnWasmAndCpu(`mean ${label}`, [x], (t) => tf.mean(t!, axes, keepDims));
      }
    }
  });

  it('the batch-norm statistics of a training batch agree with the cpu backend', async () => {
    // 256 images of 28×28 with 16 channels: a window of 200,704 rows, pooled in two stages.
    const x = operand([256, 28, 28, 16], 3);
    await assertSameOnWasmAndCpu('moments', [x], (t) => {
      const { mean, variance } = tf.moments(t!, [0, 1, 2]);
      return [mean, variance];
    });
  });

  it('slice and split agree with the cpu backend for every rank and kind of window', async () => {
    const x4 = operand([4, 5, 6, 3], 11);
    const windows: [number[], number[]][] = [
      [[0, 0, 0, 0], [2, 5, 6, 3]],
      [[1, 0, 0, 0], [2, -1, -1, -1]],
      [[0, 1, 2, 0], [4, 3, 3, 3]],
      [[1, 2, 3, 1], [3, 2, 2, 1]],
      [[0, 0, 0, 2], [4, 5, 6, 1]],
      [[0, 0, 0, 0], [4, 5, 6, 3]],
    ];
    for (const [begin, size] of windows) {
      await assertSameOnWasmAndCpu(`slice ${begin} ${size}`, [x4], (t) => tf.slice(t!, begin, size));
    }
    const x2 = operand([7, 9], 12);
    await assertSameOnWasmAndCpu('slice 2-D', [x2], (t) => tf.slice(t!, [2, 3], [4, 5]));
    const x5 = operand([2, 3, 4, 5, 6], 13);
    await assertSameOnWasmAndCpu('slice 5-D', [x5], (t) => tf.slice(t!, [1, 0, 1, 2, 3], [1, 3, 2, 2, 2]));
    await assertSameOnWasmAndCpu('split axis 0', [x4], (t) => tf.split(t!, [1, 3], 0));
    await assertSameOnWasmAndCpu('split axis 3', [x4], (t) => tf.split(t!, 3, 3));
    await assertSameOnWasmAndCpu('split axis 2', [x4], (t) => tf.split(t!, [2, 1, 3], 2));
  });

  it('identity and same-type casts share the buffer safely', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const before = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    assert.equal(tf.memory().numDataBuffers, before, 'no new buffer for a clone or a no-op cast');
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4], 'the clone outlives its source');
    y.dispose();
    assert.deepEqual(Array.from(z.dataSync()), [1, 2, 3, 4]);
    const i = tf.cast(z, 'int32');
    assert.equal(i.dtype, 'int32');
    assert.deepEqual(Array.from(i.dataSync()), [1, 2, 3, 4]);
    tf.dispose([z, i]);
  });
});

describe('per-channel broadcasts on the wasm backend', () => {
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    tf.env().set('IS_TEST', true);
  });

  it('multiply, add and subtract a channel vector on either side exactly as the cpu backend does', async () => {
    const x = operand([4, 5, 6, 8], 21);
    for (const vShape of [[8], [1, 8], [1, 1, 1, 8]]) {
      const v = operand(vShape, 22);
      for (const [name, op] of [
        ['mul', tf.mul],
        ['add', tf.add],
        ['sub', tf.sub],
      ] as const) {
        await assertSameOnWasmAndCpu(`${name} x·[${vShape}]`, [x, v], (a, b) => op(a!, b!), 0);
        await assertSameOnWasmAndCpu(`${name} [${vShape}]·x`, [x, v], (a, b) => op(b!, a!), 0);
      }
    }
    const x2 = operand([7, 3], 23);
    const v2 = operand([3], 24);
    await assertSameOnWasmAndCpu('sub 2-D', [x2, v2], (a, b) => tf.sub(b!, a!), 0);
    // Not a channel vector: the backend's own kernels.
    const w = operand([4, 1, 1, 8], 25);
    await assertSameOnWasmAndCpu('per-sample scale', [x, w], (a, b) => tf.mul(a!, b!), 0);
  });

  it('leave int32 arithmetic to the backend', async () => {
    await tf.setBackend('wasm');
    const out = tf.tidy(() => Array.from(tf.mul(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), tf.tensor1d([2, 3], 'int32')).dataSync()));
    assert.deepEqual(out, [2, 6, 6, 12]);
  });
});
