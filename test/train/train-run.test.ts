import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../../src/data/load.js';
import { createModel } from '../../src/model/awnet.js';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { buildConfig } from '../../src/model/presets.js';
import type { Model } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';
import { crossEntropy } from '../../src/train/losses.js';
import { TRAIN_DEFAULTS, type TrainSettings } from '../../src/train/settings.js';
import { train, type StepProgress } from '../../src/train/trainer.js';
import { readLog, tempDir } from './helpers.js';

const OVERRIDES = { main: { stem: 8, widths: [8, 16, 16] }, router: { stem: 4, widths: [4, 8, 8] } };

function settings(out: string): TrainSettings {
  return {
    ...TRAIN_DEFAULTS,
    overrides: OVERRIDES,
    dataDir: null,
    limit: 320,
    skipCorrupt: false,
    valSize: 64,
    valPgdSize: 32,
    valAttackSteps: 3,
    // A few Square queries per image the gradient attacks leave (the default is 300): the path
    // runs, and nothing here is measured on it.
    valSquareQueries: 5,
    epochs: 3,
    batchSize: 32,
    lr: 0.1,
    eps: 0.1,
    attackSteps: 2,
    attackStepSize: 0.05,
    attackNoise: 0.1,
    augment: true,
    checkpointEvery: 0,
    initFrom: null,
    teacherClean: null,
    teacherAdv: null,
    out,
  };
}

/** Clean cross-entropy of a model in inference mode on a fixed set of real images. */
function cleanLoss(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): number {
  const loss = tf.tidy(() => crossEntropy(model.forward(x, { training: false }).logits, y));
  const v = loss.dataSync()[0]!;
  loss.dispose();
  return v;
}

describe('a short PGD-AT run on real Fashion-MNIST images', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    ({ dir, cleanup } = await tempDir('train-run'));
  });
  after(() => cleanup());

  it('lowers the loss, logs every epoch and saves every epoch', async () => {
    const s = settings(join(dir, 'run'));
    const steps: StepProgress[] = [];
    const lines: string[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const result = await train(s, { resume: false, hooks: { onStep: (p) => steps.push(p), log: (l) => lines.push(l) } });
    assert.equal(result.status, 'finished');
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor outlives the run (none leaks per step)');
    assert.equal(result.globalStep, 3 * 8, '256 training images in batches of 32, three epochs');
    assert.equal(steps.length, 24);
    assert.ok(lines.some((l) => l.includes('320 images (256 train, 64 validation, 32 attacked)')), lines.join('\n'));

    const log = readLog(s.out);
    assert.deepEqual(log.map((r) => r.epoch), [1, 2, 3]);
    for (const r of log) {
      for (const key of ['trainLoss', 'trainCleanAcc', 'trainAdvAcc', 'trainRouterAcc', 'valCleanAcc', 'valPgdAcc', 'valRouterAcc', 'lr', 'alphaNat', 'imagesPerSecond', 'trainSeconds']) {
        assert.equal(typeof r[key], 'number', `${key} in ${JSON.stringify(r)}`);
      }
      assert.ok((r.imagesPerSecond as number) > 0);
      assert.equal(r.valSize, 64);
      assert.equal(r.valPgdSize, 32);
      assert.ok(existsSync(join(s.out, 'checkpoints', `epoch-00${String(r.epoch)}`, 'checkpoint.json')));
    }
    const trainLoss = log.map((r) => r.trainLoss as number);
    assert.ok(trainLoss[2]! < trainLoss[0]!, `epoch losses ${trainLoss.join(', ')} fall`);
    assert.ok((log[2]!.lr as number) < (log[0]!.lr as number), 'the cosine schedule lowers the rate');

    // The same 256 real images, without augmentation: the trained model fits them better
    // than the identical model before training.
    const data = await loadDataset('fashion-mnist', { split: 'train', limit: 256 });
    const x = tf.tensor4d(data.images, [256, 28, 28, 1]);
    const y = tf.tensor1d(data.labels, 'int32');
    const initial = createModel(buildConfig('fmnist-tiny', 'awnet', { ...OVERRIDES, numClasses: 10 }), s.seed);
    const { model: trained, epoch } = await loadCheckpoint(result.checkpoint);
    try {
      assert.equal(epoch, 3);
      const before = cleanLoss(initial, x, y);
      const after = cleanLoss(trained, x, y);
      assert.ok(after < before - 0.3, `clean loss ${before.toFixed(3)} → ${after.toFixed(3)}`);
    } finally {
      initial.dispose();
      trained.dispose();
      tf.dispose([x, y]);
    }
  });
});
