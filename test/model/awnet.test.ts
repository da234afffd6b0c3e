import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { createModel, type AwNet } from '../../src/model/awnet.js';
import { ModelError } from '../../src/model/errors.js';
import type { Variant } from '../../src/model/types.js';
import { images, maxAbsDiff, randomiseNorms, setValues, tinyConfig, useCpuBackend } from './helpers.js';

/** ω ≡ 1 exactly: zero signal heads give tanh(0) + 1 = 1. */
function neutraliseSignals(model: AwNet): void {
  for (const head of model.router?.signalHeads ?? []) {
    setValues(head.kernel, () => 0);
    setValues(head.bias, () => 0);
  }
}

/** P(clean) fixed for every input: zero type kernel, bias [clean, adv]. */
function fixTypeHead(model: AwNet, bias: [number, number]): void {
  setValues(model.router!.typeHead.kernel, () => 0);
  setValues(model.router!.typeHead.bias, (i) => bias[i]!);
}

/** The static backbone carrying the main network's weights with one BN set (`clean`/`adv`) or its single BN. */
function backboneOf(model: AwNet, set: 'clean' | 'adv' | null): AwNet {
  const backbone = createModel({ ...model.config, variant: 'static' }, 99);
  const source = model.namedVariables();
  for (const [name, v] of backbone.namedVariables()) {
    const from = set === null ? name : name.replace(/\/(bn\d?)\/(gamma|beta|moving_mean|moving_variance)$/, `/$1/${set}/$2`);
    const src = source.get(from);
    assert.ok(src, `AW-Net has ${from}`);
    v.assign(src);
  }
  return backbone;
}

const logitsOf = (m: AwNet, x: tf.Tensor4D): tf.Tensor2D => m.forward(x, { training: false }).logits;

describe('AW-Net and its variants', () => {
  before(useCpuBackend);

  it('with ω ≡ 1 and p = 1, AW-Net is its backbone with BN_clean; with p = 0, with BN_adv', () => {
    const model = createModel(tinyConfig('awnet'), 5);
    randomiseNorms(model, 100);
    neutraliseSignals(model);
    const x = images(model.config, 6, 7);
    for (const omega of model.route(x)!.omegas) assert.ok(omega.dataSync().every((w) => w === 1));

    const cleanNet = backboneOf(model, 'clean');
    const advNet = backboneOf(model, 'adv');
    const [cleanLogits, advLogits] = [logitsOf(cleanNet, x), logitsOf(advNet, x)];
    assert.ok(maxAbsDiff(cleanLogits, advLogits) > 1e-2, 'the two BN sets give different networks');

    fixTypeHead(model, [50, 0]);
    assert.ok(model.forward(x, { training: false }).pClean!.dataSync().every((p) => p === 1));
    assert.ok(maxAbsDiff(logitsOf(model, x), cleanLogits) < 1e-5);

    fixTypeHead(model, [0, 50]);
    assert.ok(model.forward(x, { training: false }).pClean!.dataSync().every((p) => p < 1e-20));
    assert.ok(maxAbsDiff(logitsOf(model, x), advLogits) < 1e-5);

    // p in between: the logits move between the two (the mixing is not a hard switch).
    fixTypeHead(model, [0, 0]);
    const half = logitsOf(model, x);
    assert.ok(maxAbsDiff(half, cleanLogits) > 1e-4 && maxAbsDiff(half, advLogits) > 1e-4);
    for (const m of [model, cleanNet, advNet]) m.dispose();
  });

  it('with ω ≡ 1, dynamic-only is its backbone', () => {
    const model = createModel(tinyConfig('dynamic-only'), 6);
    randomiseNorms(model, 200);
    const x = images(model.config, 4, 8);
    const before = logitsOf(model, x);
    neutraliseSignals(model);
    const backbone = backboneOf(model, null);
    assert.ok(maxAbsDiff(logitsOf(model, x), logitsOf(backbone, x)) < 1e-5);
    assert.ok(maxAbsDiff(before, logitsOf(backbone, x)) > 1e-5, 'the initial ω already differ from 1');
    model.dispose();
    backbone.dispose();
  });

  it('variants have the parts the ablation says', () => {
    const has = (m: AwNet, re: RegExp): boolean => [...m.namedVariables().keys()].some((n) => re.test(n));
    const expected: Record<Variant, { router: boolean; mixbn: boolean; signals: boolean }> = {
      static: { router: false, mixbn: false, signals: false },
      'dynamic-only': { router: true, mixbn: false, signals: true },
      'mixbn-single-bn': { router: true, mixbn: true, signals: true },
      awnet: { router: true, mixbn: true, signals: true },
    };
    for (const [variant, want] of Object.entries(expected) as [Variant, (typeof expected)[Variant]][]) {
      const m = createModel(tinyConfig(variant), 1);
      assert.equal(has(m, /^router\//), want.router, `${variant}: router`);
      assert.equal(has(m, /^main\/.*\/(clean|adv)\//), want.mixbn, `${variant}: MixBN`);
      assert.equal(has(m, /^router\/signal\//), want.signals, `${variant}: signal heads`);
      assert.ok(!has(m, /^router\/.*\/(clean|adv)\//), `${variant}: the router uses single BNs`);
      const out = m.forward(images(m.config, 2, 1), { training: false });
      assert.equal(out.typeLogits === null, !want.router);
      assert.equal(out.pClean === null, !want.router);
      m.dispose();
    }
  });

  it('at inference only awnet mixes with P(clean); mixbn-single-bn uses BN_clean; dynamic-only ignores the type head', () => {
    const x = images(tinyConfig('awnet'), 4, 9);
    const changes = (variant: Variant): boolean => {
      const m = createModel(tinyConfig(variant), 2);
      randomiseNorms(m, 300);
      fixTypeHead(m, [3, -3]);
      const a = logitsOf(m, x);
      fixTypeHead(m, [-3, 3]);
      const b = logitsOf(m, x);
      m.dispose();
      return maxAbsDiff(a, b) > 1e-4;
    };
    assert.equal(changes('awnet'), true);
    assert.equal(changes('mixbn-single-bn'), false);
    assert.equal(changes('dynamic-only'), false);

    // mixbn-single-bn at inference = awnet with the same weights and P(clean) = 1.
    const single = createModel(tinyConfig('mixbn-single-bn'), 4);
    const full = createModel(tinyConfig('awnet'), 4);
    randomiseNorms(single, 400);
    for (const [name, v] of full.namedVariables()) v.assign(single.namedVariables().get(name)!);
    fixTypeHead(full, [50, 0]);
    assert.ok(maxAbsDiff(logitsOf(single, x), logitsOf(full, x)) < 1e-5);
    single.dispose();
    full.dispose();
  });

  it('in training, cleanCount matters exactly for the MixBN variants', () => {
    const x = images(tinyConfig('awnet'), 6, 10);
    for (const variant of ['static', 'dynamic-only', 'mixbn-single-bn', 'awnet'] as Variant[]) {
      const m = createModel(tinyConfig(variant), 3);
      const a = m.forward(x, { training: true, cleanCount: 6 }).logits;
      const b = m.forward(x, { training: true, cleanCount: 2 }).logits;
      const mixbn = variant === 'awnet' || variant === 'mixbn-single-bn';
      assert.equal(maxAbsDiff(a, b) > 1e-4, mixbn, variant);
      m.dispose();
    }
  });

  it('a training step gives every trainable variable a finite gradient, non-zero where data reaches it', () => {
    const m = createModel(tinyConfig('awnet'), 11);
    const x = images(m.config, 4, 12);
    const labels = tf.oneHot(tf.tensor1d([1, 4, 1, 7], 'int32'), 10);
    const types = tf.oneHot(tf.tensor1d([0, 0, 1, 1], 'int32'), 2);
    const { value, grads } = tf.variableGrads(() => {
      const out = m.forward(x, { training: true, cleanCount: 2 });
      return tf.add(tf.losses.softmaxCrossEntropy(labels, out.logits), tf.losses.softmaxCrossEntropy(types, out.typeLogits!)) as tf.Scalar;
    }, m.trainableVariables());
    assert.ok(Number.isFinite(value.dataSync()[0]!));
    for (const [name, v] of m.namedVariables()) {
      const g = grads[v.name];
      if (!v.trainable) {
        assert.equal(g, undefined, `${name} is not trained`);
        continue;
      }
      assert.ok(g, `${name} has a gradient`);
      const values = g.dataSync();
      assert.ok(values.every(Number.isFinite), `${name}: finite gradient`);
      assert.ok(values.some((e) => e !== 0), `${name}: non-zero gradient`);
    }
    m.dispose();
  });

  it('initialisation is deterministic in the seed', () => {
    const [a, b, c] = [1, 1, 2].map((seed) => createModel(tinyConfig('awnet'), seed));
    for (const [name, v] of a!.namedVariables()) {
      assert.deepEqual(v.dataSync(), b!.namedVariables().get(name)!.dataSync(), name);
    }
    const kernel = 'main/stage1/block0/conv1/kernel';
    assert.notDeepEqual(a!.namedVariables().get(kernel)!.dataSync(), c!.namedVariables().get(kernel)!.dataSync());
    // He-normal: std ≈ sqrt(2 / fan_in) on a kernel of 3·3·16·32 values.
    const big = createModel({ ...tinyConfig('static'), main: { stem: 16, widths: [32], blocks: [1], strides: [1] } }, 5);
    const k = big.namedVariables().get(kernel)!.dataSync() as Float32Array;
    const std = Math.sqrt(k.reduce((s, e) => s + e * e, 0) / k.length);
    assert.ok(Math.abs(std / Math.sqrt(2 / (9 * 16)) - 1) < 0.05, `std ${std}`);
    for (const m of [a, b, c, big]) m!.dispose();
  });

  it('does not leak tensors across repeated forwards and gradient steps, and dispose frees everything', () => {
    const start = tf.memory().numTensors;
    const m = createModel(tinyConfig('awnet'), 1);
    const x = images(m.config, 4, 1);
    const dispose = (r: { logits: tf.Tensor; typeLogits: tf.Tensor | null; pClean: tf.Tensor | null }): void =>
      tf.dispose([r.logits, r.typeLogits, r.pClean].filter((t): t is tf.Tensor => t !== null));
    const gradientStep = (): void => {
      const { value, grads } = tf.variableGrads(() => tf.sum(m.forward(x, { training: true, cleanCount: 2 }).logits) as tf.Scalar, m.trainableVariables());
      tf.dispose([value, ...Object.values(grads)]);
    };
    const round = (): void => {
      dispose(m.forward(x, { training: false }));
      dispose(m.forward(x, { training: true, cleanCount: 2 })); // equal halves: one grouped pass
      dispose(m.forward(x, { training: true, cleanCount: 1 })); // unequal: sliced rows
      const routed = m.route(x)!;
      tf.dispose([routed.psi, routed.typeLogits, routed.pClean, ...routed.omegas]);
      gradientStep();
    };
    round();
    const settled = tf.memory().numTensors;
    for (let i = 0; i < 3; i += 1) {
      round();
      assert.equal(tf.memory().numTensors, settled, `after round ${i + 1}`);
    }
    m.dispose();
    x.dispose();
    assert.equal(tf.memory().numTensors, start);
  });

  it('rejects bad input with a stable code', () => {
    const m = createModel(tinyConfig('awnet'), 1);
    const expectCode = (fn: () => unknown, code: string, re: RegExp): void =>
      assert.throws(fn, (err: unknown) => err instanceof ModelError && err.code === code && re.test(err.message));
    expectCode(() => m.forward(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, { training: false }), 'MODEL_BAD_INPUT', /\[2, 32, 32, 3\].*\[N ≥ 1, 28, 28, 1\]/);
    expectCode(() => m.forward(tf.zeros([2, 28, 28, 1], 'int32') as tf.Tensor4D, { training: false }), 'MODEL_BAD_INPUT', /int32/);
    expectCode(() => m.forward(images(m.config, 2, 1), { training: true, cleanCount: 3 }), 'MODEL_BAD_INPUT', /cleanCount.*\[0, 2\].*3/);
    m.dispose();
    expectCode(() => m.forward(images(m.config, 2, 1), { training: false }), 'MODEL_DISPOSED', /disposed/);
  });
});
