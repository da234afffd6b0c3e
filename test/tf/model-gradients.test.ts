import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { buildConfig, createModel } from '../../src/model/index.js';
import { initBackend } from '../../src/tf/backend.js';
import { objective } from '../../src/train/objective.js';
import { crossEntropy } from '../../src/train/losses.js';
import { relativeError } from './compare.js';

/**
 * The whole AW-Net training path on the wasm backend (its own kernels plus this
 * project's) against the cpu backend: every trainable variable's gradient of the
 * PGD-AT objective on [clean; perturbed] images, and the input gradient PGD uses.
 */

const N = 3;

interface Gradients {
  readonly variables: Map<string, Float32Array>;
  readonly input: Float32Array;
}

async function gradientsOn(backend: string, images: Float32Array, labels: Int32Array): Promise<Gradients> {
  assert.ok(await tf.setBackend(backend));
  const model = createModel(buildConfig('fmnist-tiny', 'awnet'), 7, { scope: `grad-check-${backend}` });
  const x = tf.tensor4d(images.subarray(0, N * 784), [N, 28, 28, 1]);
  const y = tf.tensor1d(labels.subarray(0, N), 'int32');
  // A fixed perturbation stands in for the attack: the check is about gradients, not PGD.
  const xAdv = tf.tidy(() => tf.clipByValue(tf.add(x, tf.mul(tf.sign(tf.sub(tf.randomUniform(x.shape, 0, 1, 'float32', 5), 0.5)), 0.1)), 0, 1));
  try {
    const both = tf.concat([x, xAdv]) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(both, { training: true, cleanCount: N });
      return objective({ mode: 'pgd-at', out, labels: y, cleanCount: N, alphaNat: 0.5, alphaAdv: 0.5, tradesBeta: 6 }).total;
    }, model.trainableVariables());
    const variables = new Map<string, Float32Array>();
    for (const [stable, v] of model.namedVariables()) {
      const g = grads[v.name];
      if (g !== undefined) variables.set(stable, g.dataSync() as Float32Array);
    }
    const input = tf.tidy(() =>
      tf.grad((xi: tf.Tensor) => crossEntropy(model.forward(xi as tf.Tensor4D, { training: false }).logits, y))(xAdv).dataSync(),
    ) as Float32Array;
    tf.dispose([both, value, ...Object.values(grads)]);
    return { variables, input };
  } finally {
    tf.dispose([x, y, xAdv]);
    model.dispose();
  }
}

describe('AW-Net gradients on the wasm backend', () => {
  let wasm: Gradients;
  let cpu: Gradients;

  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const data = await loadFashionMnist({ split: 'train', limit: N });
    wasm = await gradientsOn('wasm', data.images, data.labels);
    cpu = await gradientsOn('cpu', data.images, data.labels);
    await tf.setBackend('wasm');
  });

  it('cover every trainable variable', () => {
    assert.ok(wasm.variables.size > 50, `only ${wasm.variables.size} gradients`);
    assert.deepEqual([...wasm.variables.keys()].sort(), [...cpu.variables.keys()].sort());
  });

  it('match the cpu backend for every trainable variable of the training objective', (t) => {
    const worst = [...wasm.variables].map(([name, g]) => ({ name, err: relativeError(g, cpu.variables.get(name)!) })).sort((a, b) => b.err - a.err);
    t.diagnostic(`largest relative difference: ${worst[0]!.name} ${worst[0]!.err.toExponential(2)}`);
    assert.ok(worst[0]!.err < 1e-5, `largest relative difference: ${worst[0]!.name} ${worst[0]!.err.toExponential(2)}`);
  });

  it('match the cpu backend for the input gradient that PGD follows', (t) => {
    const err = relativeError(wasm.input, cpu.input);
    t.diagnostic(`relative difference ${err.toExponential(2)}`);
    assert.ok(err < 1e-5);
    assert.ok(wasm.input.some((v) => v !== 0), 'a non-zero input gradient');
  });
});
