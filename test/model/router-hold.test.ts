import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { createModel, type AwNet } from '../../src/model/awnet.js';
import { ModelError } from '../../src/model/errors.js';
import { buildConfig } from '../../src/model/presets.js';
import { changedHold, FREE_HOLD, holdLabel } from '../../src/model/router-hold.js';
import type { ArchConfig, RouterHold } from '../../src/model/types.js';
import { images, maxAbsDiff, randomiseNorms, setValues, tinyConfig, useCpuBackend } from './helpers.js';

/** A copy of `model` (same variables) whose configuration records `hold`. */
function withHold(model: AwNet, hold: RouterHold): AwNet {
  const copy = createModel({ ...model.config, hold }, 1);
  const source = model.namedVariables();
  for (const [name, v] of copy.namedVariables()) v.assign(source.get(name)!);
  return copy;
}

/** P(clean) = p for every input. */
function fixPClean(model: AwNet, p: number): void {
  setValues(model.router!.typeHead.kernel, () => 0);
  setValues(model.router!.typeHead.bias, (i) => Math.log(i === 0 ? p : 1 - p));
}

/** ω = w for every filter and input: zero kernels, bias z with (tanh(z) + 1)^β = w. */
function fixOmega(model: AwNet, w: number): void {
  const z = Math.atanh(w ** (1 / model.config.beta) - 1);
  for (const head of model.router!.signalHeads) {
    setValues(head.kernel, () => 0);
    setValues(head.bias, () => z);
  }
}

const run = (m: AwNet, x: tf.Tensor4D): { logits: tf.Tensor2D; pClean: tf.Tensor1D } => {
  const out = m.forward(x, { training: false });
  return { logits: out.logits, pClean: out.pClean! };
};

describe('router hold', () => {
  before(useCpuBackend);

  it('caps the P(clean) MixBN mixes with, not the P(clean) the router reports', () => {
    const model = createModel(tinyConfig('awnet'), 5);
    randomiseNorms(model, 300);
    fixOmega(model, 1);
    const x = images(model.config, 5, 3);
    fixPClean(model, 0.9);
    const held = withHold(model, { pCleanCap: 0.3, omegaBound: null });
    const heldOut = run(held, x);
    assert.ok(heldOut.pClean.dataSync().every((p) => Math.abs(p - 0.9) < 1e-5), 'the router still says 0.9');
    // The held model at p = 0.9 answers as the free model at p = 0.3.
    fixPClean(model, 0.3);
    assert.ok(maxAbsDiff(heldOut.logits, run(model, x).logits) < 1e-5);
    // Below the cap the hold changes nothing.
    const low = withHold(model, { pCleanCap: 0.5, omegaBound: null });
    assert.ok(maxAbsDiff(run(low, x).logits, run(model, x).logits) < 1e-6);
    fixPClean(model, 0.9);
    assert.ok(maxAbsDiff(run(model, x).logits, heldOut.logits) > 1e-3, 'the cap binds at p = 0.9');
    for (const m of [model, held, low]) m.dispose();
  });

  it('clips ω to [1 − b, 1 + b]', () => {
    const model = createModel(tinyConfig('awnet'), 6);
    randomiseNorms(model, 400);
    fixPClean(model, 0.5);
    const x = images(model.config, 4, 9);
    fixOmega(model, 2.5);
    const held = withHold(model, { pCleanCap: 1, omegaBound: 0.5 });
    const heldLogits = run(held, x).logits;
    assert.ok(maxAbsDiff(heldLogits, run(model, x).logits) > 1e-3, 'the bound binds at ω = 2.5');
    fixOmega(model, 1.5);
    assert.ok(maxAbsDiff(heldLogits, run(model, x).logits) < 1e-4, 'ω = 2.5 held at 1.5 answers as ω = 1.5');
    fixOmega(model, 0.2);
    const low = withHold(model, { pCleanCap: 1, omegaBound: 0.5 });
    const lowLogits = run(low, x).logits;
    fixOmega(model, 0.5);
    assert.ok(maxAbsDiff(lowLogits, run(model, x).logits) < 1e-4, 'ω = 0.2 held at 0.5');
    for (const m of [model, held, low]) m.dispose();
  });

  it('is inference only: a training forward ignores it', () => {
    const model = createModel(tinyConfig('awnet'), 7);
    fixPClean(model, 0.9);
    fixOmega(model, 2.5);
    const held = withHold(model, { pCleanCap: 0, omegaBound: 0.1 });
    const x = images(model.config, 4, 2);
    const a = model.forward(x, { training: true, cleanCount: 2 }).logits;
    const b = held.forward(x, { training: true, cleanCount: 2 }).logits;
    assert.ok(maxAbsDiff(a, b) < 1e-6);
    model.dispose();
    held.dispose();
  });

  it('is validated with the configuration, naming the bad value and the variant', () => {
    const config = (variant: ArchConfig['variant'], hold: RouterHold): (() => ArchConfig) => () => buildConfig('fmnist-tiny', variant, { hold });
    const refused = (fn: () => unknown, re: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof ModelError && e.code === 'MODEL_BAD_CONFIG' && re.test(e.message));
    refused(config('awnet', { pCleanCap: 1.5, omegaBound: null }), /cap must be a number in \[0, 1\], got 1\.5/);
    refused(config('awnet', { pCleanCap: 0.5, omegaBound: 0 }), /ω bound must be a positive number or null, got 0/);
    refused(config('static', { pCleanCap: 0.5, omegaBound: null }), /needs a variant whose MixBN mixes with the router \(awnet\), not static/);
    refused(config('mixbn-single-bn', { pCleanCap: 0.5, omegaBound: null }), /not mixbn-single-bn/);
    refused(config('static', { pCleanCap: 1, omegaBound: 0.5 }), /dynamic weights, not static/);
    assert.deepEqual(config('dynamic-only', { pCleanCap: 1, omegaBound: 0.5 })().hold, { pCleanCap: 1, omegaBound: 0.5 });
  });

  it('a change keeps what it leaves out of the recorded hold', () => {
    const recorded = buildConfig('fmnist-tiny', 'awnet', { hold: { pCleanCap: 0.5, omegaBound: 0.3 } });
    assert.deepEqual(changedHold(recorded, { pCleanCap: 0.25 }), { pCleanCap: 0.25, omegaBound: 0.3 });
    assert.deepEqual(changedHold(recorded, { omegaBound: null }), { pCleanCap: 0.5, omegaBound: null });
    assert.deepEqual(changedHold(buildConfig('fmnist-tiny', 'awnet'), {}), FREE_HOLD);
    assert.throws(() => changedHold(buildConfig('fmnist-tiny', 'static'), { pCleanCap: 0.5 }), /not static/);
    assert.equal(holdLabel({ pCleanCap: 0.5, omegaBound: 0.3 }), 'cap0.5,omega0.3');
    assert.equal(holdLabel(FREE_HOLD), 'free');
  });
});
