import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../../src/tf/backend.js';
import { assertSameOnWasmAndCpu, operand, relativeError, runOn, type Operand } from './compare.js';

type Pad = 'same' | 'valid';

interface ConvCase {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly inC: number;
  readonly outC: number;
  readonly k: number;
  readonly stride: number | [number, number];
  readonly pad: Pad;
}

const label = (c: ConvCase): string =>
  `x[${c.n},${c.h},${c.w},${c.inC}] ${c.k}×${c.k}→${c.outC} stride ${String(c.stride)} ${c.pad}`;

function operands(c: ConvCase, seed: number): { x: Operand; f: Operand; dy: Operand } {
  const y = tf.tidy(() => tf.conv2d(tf.zeros([c.n, c.h, c.w, c.inC]) as tf.Tensor4D, tf.zeros([c.k, c.k, c.inC, c.outC]) as tf.Tensor4D, c.stride, c.pad).shape);
  return {
    x: operand([c.n, c.h, c.w, c.inC], seed),
    f: operand([c.k, c.k, c.inC, c.outC], seed + 1),
    dy: operand(y, seed + 2),
  };
}

/** Both gradients of conv2d for an upstream gradient dy, through tfjs' own gradient machinery. */
function convGrads(c: ConvCase): (x: tf.Tensor, f: tf.Tensor, dy: tf.Tensor) => tf.Tensor[] {
  return (x, f, dy) =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad))([x, f], dy);
}

/**
 * Both gradients straight from the definition of a TensorFlow convolution, in float64:
 * y[n,o,p,m] = Σ x[n, o·sh + i − top, p·sw + j − left, c] · f[i,j,c,m].
 */
function definitionGrads(c: ConvCase, ops: { x: Operand; f: Operand; dy: Operand }): [Float64Array, Float64Array] {
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.inC], [c.k, c.k, c.inC, c.outC], c.stride, 1, c.pad);
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const dx = new Float64Array(ops.x.values.length);
  const df = new Float64Array(ops.f.values.length);
  const xi = (n: number, r: number, q: number, ch: number): number => ((n * c.h + r) * c.w + q) * c.inC + ch;
  const fi = (i: number, j: number, ch: number, m: number): number => ((i * c.k + j) * c.inC + ch) * c.outC + m;
  for (let n = 0; n < c.n; n++)
    for (let o = 0; o < oh; o++)
      for (let p = 0; p < ow; p++)
        for (let m = 0; m < c.outC; m++) {
          const g = ops.dy.values[((n * oh + o) * ow + p) * c.outC + m]!;
          for (let i = 0; i < c.k; i++)
            for (let j = 0; j < c.k; j++) {
              const r = o * sh + i - top;
              const q = p * sw + j - left;
              if (r < 0 || r >= c.h || q < 0 || q >= c.w) continue;
              for (let ch = 0; ch < c.inC; ch++) {
                dx[xi(n, r, q, ch)]! += g * ops.f.values[fi(i, j, ch, m)]!;
                df[fi(i, j, ch, m)]! += g * ops.x.values[xi(n, r, q, ch)]!;
              }
            }
        }
  return [dx, df];
}

const GRID: ConvCase[] = [];
for (const [h, w] of [
  [8, 8],
  [7, 7],
  [5, 6],
] as const) {
  for (const k of [1, 3]) {
    for (const stride of [1, 2] as const) {
      for (const pad of ['same', 'valid'] as const) {
        for (const [inC, outC] of [
          [1, 3],
          [3, 16],
          [16, 16],
        ] as const) {
          GRID.push({ n: 2, h, w, inC, outC, k, stride, pad });
        }
      }
    }
  }
}

describe('conv2d gradients on the wasm backend', () => {
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    // Makes the engine check every kernel for leaked buffers.
    tf.env().set('IS_TEST', true);
  });

  it(`match the cpu backend on ${GRID.length} shapes (stride 1/2, 1×1 and 3×3, 1/3/16 channels, same/valid)`, async () => {
    let seed = 1;
    for (const c of GRID) {
      const { x, f, dy } = operands(c, (seed += 3));
      await assertSameOnWasmAndCpu(label(c), [x, f, dy], convGrads(c));
    }
  });

  it('match the definition of the convolution, computed in float64', async () => {
    const cases: ConvCase[] = [
      { n: 2, h: 9, w: 9, inC: 3, outC: 4, k: 3, stride: 2, pad: 'same' },
      { n: 1, h: 6, w: 7, inC: 2, outC: 5, k: 3, stride: [1, 2], pad: 'same' },
      { n: 2, h: 7, w: 5, inC: 4, outC: 2, k: 2, stride: 3, pad: 'same' },
      { n: 1, h: 8, w: 8, inC: 5, outC: 3, k: 5, stride: 2, pad: 'valid' },
      { n: 2, h: 6, w: 6, inC: 3, outC: 2, k: 1, stride: 2, pad: 'same' },
    ];
    for (const c of cases) {
      const ops = operands(c, 100);
      const [dx, df] = await runOn('wasm', [ops.x, ops.f, ops.dy], convGrads(c));
      const [refDx, refDf] = definitionGrads(c, ops);
      assert.ok(relativeError(dx!, Float32Array.from(refDx)) < 1e-5, `${label(c)}: dx`);
      assert.ok(relativeError(df!, Float32Array.from(refDf)) < 1e-5, `${label(c)}: dfilter`);
    }
  });

  it('match the cpu backend on a layer of fmnist-tiny size (stride 2, 16→32)', async () => {
    const c: ConvCase = { n: 8, h: 28, w: 28, inC: 16, outC: 32, k: 3, stride: 2, pad: 'same' };
    const { x, f, dy } = operands(c, 7);
    await assertSameOnWasmAndCpu(label(c), [x, f, dy], convGrads(c));
  });

  it('serve tf.conv2dTranspose and the gradients of tf.fused.conv2d', async () => {
    const dy = operand([2, 4, 4, 6], 11);
    const f = operand([3, 3, 5, 6], 12);
    await assertSameOnWasmAndCpu('conv2dTranspose', [dy, f], (d, w) =>
      tf.conv2dTranspose(d as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 5], 2, 'same'),
    );
    const x = operand([2, 8, 8, 5], 13);
    const bias = operand([6], 14);
    await assertSameOnWasmAndCpu('fused conv2d + bias + relu', [x, f, bias], (xs, w, b) =>
      tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
        tf.sum(
          tf.fused.conv2d({ x: a as tf.Tensor4D, filter: k as tf.Tensor4D, strides: 2, pad: 'same', bias: c, activation: 'relu' }),
        ),
      )([xs, w, b]),
    );
  });

  it("compute the forward 'same' conv right when the stride exceeds the filter", async () => {
    const x = operand([2, 7, 8, 3], 21);
    const f = operand([2, 2, 3, 4], 22);
    await assertSameOnWasmAndCpu('conv2d 2×2 stride 3 same', [x, f], (a, b) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 3, 'same'),
    );
  });

  it('leave no tensors behind', async () => {
    await tf.setBackend('wasm');
    const c: ConvCase = { n: 2, h: 8, w: 8, inC: 3, outC: 4, k: 3, stride: 2, pad: 'same' };
    const { x, f, dy } = operands(c, 31);
    const inputs = [x, f, dy].map((o) => tf.tensor(o.values, [...o.shape]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(convGrads(c)(inputs[0]!, inputs[1]!, inputs[2]!));
    assert.equal(tf.memory().numTensors, before);
    tf.dispose(inputs);
  });

  it('refuse NCHW with an error that names the layout', async () => {
    await tf.setBackend('wasm');
    const dy = tf.zeros([1, 2, 4, 4]);
    const filter = tf.zeros([3, 3, 2, 2]);
    assert.throws(
      () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
          strides: 1,
          pad: 'same',
          dataFormat: 'NCHW',
          inputShape: [1, 2, 4, 4],
        } as unknown as tf.NamedAttrMap),
      /takes dataFormat 'NHWC', got 'NCHW'/,
    );
    tf.dispose([dy, filter]);
  });
});
