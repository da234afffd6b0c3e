import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../../src/model/awnet.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { buildConfig } from '../../src/model/presets.js';
import type { Model } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';
import { TrainError } from '../../src/train/errors.js';
import { freezeInOptimizer, frozenVariables, underPrefix } from '../../src/train/freeze.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { decayingVariables, trainStep } from '../../src/train/train-step.js';
import { train } from '../../src/train/trainer.js';
import { warmStart } from '../../src/train/warm-start.js';
import { tempDir, tinyRunSettings } from './helpers.js';

const OVERRIDES = { main: { stem: 4, widths: [4, 8, 8] }, router: { stem: 4, widths: [4, 4, 4] } };

/** Trainable variables by stable name, as plain arrays. */
function trainable(m: Model): Map<string, Float32Array> {
  return new Map([...m.namedVariables()].filter(([, v]) => v.trainable).map(([name, v]) => [name, v.dataSync().slice() as Float32Array]));
}

/** Stable names of the frozen set. */
function stableNames(m: Model, tfNames: ReadonlySet<string>): string[] {
  return [...m.namedVariables()].filter(([, v]) => tfNames.has(v.name)).map(([name]) => name);
}

/** Names whose values differ between two snapshots. */
function changed(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  return [...a].filter(([name, v]) => v.some((x, i) => x !== b.get(name)![i])).map(([name]) => name);
}

const isBadOption = (pattern: RegExp) => (err: unknown) => err instanceof TrainError && err.code === 'TRAIN_BAD_OPTION' && pattern.test(err.message);

describe('frozen variables (--freeze)', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    ({ dir, cleanup } = await tempDir('freeze'));
  });
  after(() => cleanup());

  it('match whole leading name parts', () => {
    assert.ok(underPrefix('main/stage1/block0/conv1/kernel', 'main'));
    assert.ok(underPrefix('main/stage1/block0/conv1/kernel', 'main/stage1/'));
    assert.ok(underPrefix('router/signal', 'router/signal'));
    assert.ok(!underPrefix('mainline/x', 'main'));
    assert.ok(!underPrefix('router/type/kernel', 'main'));
  });

  it('are the trainable variables under a prefix; a prefix that matches nothing, or freezing everything, is refused', () => {
    const model = createModel(buildConfig('fmnist-tiny', 'awnet', OVERRIDES), 1);
    try {
      const names = stableNames(model, frozenVariables(model, ['main']));
      assert.ok(names.length > 0 && names.every((n) => n.startsWith('main/')));
      assert.ok(names.includes('main/classifier/kernel'));
      assert.deepEqual(names, [...trainable(model).keys()].filter((n) => n.startsWith('main/')));
      assert.throws(() => frozenVariables(model, ['mian']), isBadOption(/--freeze mian matches no trainable variable of this model; its parts are main\/stem, .*router\/signal/));
      assert.throws(() => frozenVariables(model, ['main', 'router']), isBadOption(/freezes every trainable variable/));
    } finally {
      model.dispose();
    }
  });

  it('stay exactly as they are through momentum SGD steps with weight decay, while the rest trains', () => {
    const model = createModel(buildConfig('fmnist-tiny', 'awnet', OVERRIDES), 2);
    const optimizer = createOptimizer({ name: 'sgd', lr: 0.1, momentum: 0.9 });
    freezeInOptimizer(optimizer, frozenVariables(model, ['main']));
    const ctx = { model, optimizer, mode: 'pgd-at' as const, tradesBeta: 6, weightDecay: 5e-4 };
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const xAdv = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    try {
      const before = trainable(model);
      const tensors = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) trainStep(ctx, x, xAdv, y, { alphaNat: 0.5, alphaAdv: 0.5 }, decayingVariables(model));
      const moved = changed(before, trainable(model));
      assert.deepEqual(moved.filter((n) => n.startsWith('main/')), [], 'no main variable moved');
      assert.ok(moved.some((n) => n.startsWith('router/signal/')) && moved.some((n) => n.startsWith('router/type/')), moved.join(', '));
      // The zero gradients are released; only the optimiser's own slots (made at the first step) remain.
      assert.ok(tf.memory().numTensors - tensors <= 2 * model.trainableVariables().length + 2);
    } finally {
      tf.dispose([x, xAdv, y]);
      optimizer.dispose();
      model.dispose();
    }
  });

  it('a two-worker AW-Net run from a static checkpoint with --freeze main trains the router only', async () => {
    const staticDir = join(dir, 'static');
    const baseline = createModel(buildConfig('fmnist-tiny', 'static', OVERRIDES), 3);
    await saveCheckpoint(staticDir, { model: baseline });
    baseline.dispose();
    const settings = { ...tinyRunSettings(join(dir, 'run'), OVERRIDES), workers: 2, initFrom: staticDir, freeze: ['main'] };
    const lines: string[] = [];
    const result = await train(settings, { resume: false, hooks: { log: (l) => lines.push(l) } });
    assert.equal(result.status, 'finished');
    assert.ok(lines.some((l) => /^frozen: \d+ of \d+ trainable variables \(main\)$/.test(l)), lines.join('\n'));

    // The run's starting point: the same seed's AW-Net with the static checkpoint's variables.
    const start = createModel(buildConfig('fmnist-tiny', 'awnet', { ...OVERRIDES, numClasses: 10 }), settings.seed);
    await warmStart(start, staticDir);
    const { model: trained } = await loadCheckpoint(join(dir, 'run', 'checkpoints', 'latest'));
    try {
      const moved = changed(trainable(start), trainable(trained));
      assert.deepEqual(moved.filter((n) => n.startsWith('main/')), [], 'the network is the static checkpoint\'s');
      assert.ok(moved.some((n) => n.startsWith('router/')), 'the router trained');
    } finally {
      start.dispose();
      trained.dispose();
    }
  });
});
