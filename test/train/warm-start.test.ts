import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../../src/model/awnet.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { buildConfig } from '../../src/model/presets.js';
import type { Model } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';
import { TrainError } from '../../src/train/errors.js';
import type { TrainSettings } from '../../src/train/settings.js';
import { train } from '../../src/train/trainer.js';
import { copyMatchingVariables, describeWarmStart, sourceNames, warmStart } from '../../src/train/warm-start.js';
import { readLog, tempDir, tinyRunSettings } from './helpers.js';

const OVERRIDES = { main: { stem: 8, widths: [8, 16, 16] }, router: { stem: 4, widths: [4, 8, 8] } };

const values = (m: Model): Map<string, Float32Array> => new Map([...m.namedVariables()].map(([name, v]) => [name, v.dataSync() as Float32Array]));

function predictions(m: Model, x: tf.Tensor4D): Int32Array {
  return tf.tidy(() => m.forward(x, { training: false }).logits.argMax(1).dataSync() as Int32Array);
}

const isInitMismatch = (pattern: RegExp) => (err: unknown) => err instanceof TrainError && err.code === 'TRAIN_INIT_MISMATCH' && pattern.test(err.message);

describe('starting a run from another checkpoint (--init-from)', () => {
  let dir = '';
  let staticDir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    ({ dir, cleanup } = await tempDir('warm-start'));
    staticDir = join(dir, 'static');
    const baseline = createModel(buildConfig('fmnist-tiny', 'static', OVERRIDES), 3);
    await saveCheckpoint(staticDir, { model: baseline });
    baseline.dispose();
  });
  after(() => cleanup());

  it('maps both MixBN statistics sets to the single BatchNorm of the same layer, other names to themselves', () => {
    assert.deepEqual(sourceNames('main/stage1/block0/bn1/clean/gamma'), ['main/stage1/block0/bn1/clean/gamma', 'main/stage1/block0/bn1/gamma']);
    assert.deepEqual(sourceNames('main/stem/bn/adv/moving_variance'), ['main/stem/bn/adv/moving_variance', 'main/stem/bn/moving_variance']);
    assert.deepEqual(sourceNames('main/stem/conv/kernel'), ['main/stem/conv/kernel']);
    assert.deepEqual(sourceNames('router/signal/0/kernel'), ['router/signal/0/kernel']);
  });

  it('gives an AW-Net the static network and its BatchNorm in both sets, leaves the router as initialised, and so starts as the static network', async () => {
    const baseline = createModel(buildConfig('fmnist-tiny', 'static', OVERRIDES), 3);
    const awnet = createModel(buildConfig('fmnist-tiny', 'awnet', OVERRIDES), 1);
    const routerBefore = new Map([...values(awnet)].filter(([name]) => name.startsWith('router/')));
    const report = await warmStart(awnet, staticDir);
    const from = values(baseline);
    const now = values(awnet);

    assert.equal(report.copied, from.size + [...from.keys()].filter((n) => /\/bn\d?\//.test(n)).length, 'every static variable, BN ones twice');
    assert.deepEqual([...report.fresh].sort(), [...routerBefore.keys()].sort(), 'exactly the router keeps its initialisation');
    for (const [name, v] of now) {
      if (name.startsWith('router/')) assert.deepEqual(v, routerBefore.get(name), name);
      else assert.deepEqual(v, from.get(sourceNames(name).find((n) => from.has(n))!), name);
    }
    assert.match(describeWarmStart(report, staticDir), /^initialised \d+ variables from .*; \d+ keep their initialisation \(router\/stem, .*router\/signal\)$/);

    // The signal heads start every ω near 1, so the two networks agree on (almost) every image.
    const x = tf.randomUniform([64, 28, 28, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const a = predictions(baseline, x);
    const b = predictions(awnet, x);
    const agree = a.filter((p, i) => p === b[i]).length;
    assert.ok(agree >= 58, `the warm-started AW-Net agrees with the static network on ${agree} of 64 images`);
    tf.dispose([x]);
    baseline.dispose();
    awnet.dispose();
  });

  it('refuses a checkpoint of other widths, naming the variable, and one with nothing in common', () => {
    const wide = createModel(buildConfig('fmnist-tiny', 'static', { ...OVERRIDES, main: { stem: 8, widths: [8, 16, 32] } }), 1);
    const awnet = createModel(buildConfig('fmnist-tiny', 'awnet', OVERRIDES), 1);
    assert.throws(() => copyMatchingVariables(awnet, wide, 'wide'), isInitMismatch(/^--init-from wide: main\/stage3\/block0\/conv1\/kernel has shape \[3, 3, 16, 32\] but the model's .* is \[3, 3, 16, 16\]/));
    const stranger = tf.variable(tf.zeros([2]));
    const unrelated = { namedVariables: () => new Map([['other/kernel', stranger]]) } as unknown as Model;
    assert.throws(() => copyMatchingVariables(awnet, unrelated, 'unrelated'), isInitMismatch(/no variable of the checkpoint matches the model \(other\/kernel, …\)/));
    tf.dispose([stranger]);
    wide.dispose();
    awnet.dispose();
  });

  it('trains an AW-Net from a static checkpoint, and refuses one with other classes before training and without leaking tensors', async () => {
    const settings = (out: string, initFrom: string): TrainSettings => ({ ...tinyRunSettings(out, OVERRIDES), initFrom });
    const lines: string[] = [];
    const result = await train(settings(join(dir, 'awnet'), staticDir), { resume: false, hooks: { log: (l) => lines.push(l) } });
    assert.equal(result.status, 'finished');
    assert.equal(readLog(join(dir, 'awnet')).length, 1);
    assert.ok(lines.some((l) => l.startsWith(`initialised `) && l.includes(staticDir)), lines.join('\n'));

    const fiveDir = join(dir, 'five-class');
    const five = createModel(buildConfig('fmnist-tiny', 'static', { ...OVERRIDES, numClasses: 5 }), 1);
    await saveCheckpoint(fiveDir, { model: five });
    five.dispose();
    const tensorsBefore = tf.memory().numTensors;
    await assert.rejects(train(settings(join(dir, 'five'), fiveDir), { resume: false }), isInitMismatch(/5 classes; the model .* 10$/));
    assert.equal(tf.memory().numTensors, tensorsBefore, 'the failed start released both models');
  });
});
