import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { buildConfig, createModel } from '../../src/model/index.js';
import type { Model } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';
import { sortedVariables, type ParallelSetup } from '../../src/train/parallel-protocol.js';
import { ParallelPgdAt } from '../../src/train/parallel-step.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { decayingVariables, trainStep } from '../../src/train/train-step.js';
import { adversarialRows, NO_EVASION, trainingAttack, type TrainingAttack } from '../../src/train/training-attack.js';
import { tempDir } from '../train/helpers.js';

const sgd = () => createOptimizer({ name: 'sgd', lr: 0.05, momentum: 0.9 });
const ALPHA = { alphaNat: 0.3, alphaAdv: 0.7 };

function snapshot(model: Model): Float32Array {
  return Float32Array.from(sortedVariables(model).flatMap(([, v]) => Array.from(v.dataSync())));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

describe('data-parallel MTARD step: every worker loads both teachers', () => {
  let images: Float32Array;
  let labels: Int32Array;
  let teachers: { clean: Model; adv: Model };
  let setup: ParallelSetup;
  let cleanup: () => Promise<void> = async () => {};

  /** The trainer's single-thread MTARD step with the same teachers. */
  function singleThreadStep(model: Model, attack: TrainingAttack, seed: number): number {
    const n = labels.length;
    const x = tf.tensor4d(images, [n, 28, 28, 1]);
    const y = tf.tensor1d(labels, 'int32');
    const { xAdv } = adversarialRows(model, x, y, 'mtard', attack, NO_EVASION, seed);
    const ctx = { model, optimizer: sgd(), mode: 'mtard' as const, tradesBeta: 6, weightDecay: 5e-4, teachers };
    const figures = trainStep(ctx, x, xAdv, y, ALPHA, decayingVariables(model));
    tf.dispose([x, y, xAdv]);
    return figures.loss;
  }

  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const data = await loadFashionMnist({ split: 'train', limit: 8 });
    images = data.images;
    labels = data.labels;
    let dir: string;
    ({ dir, cleanup } = await tempDir('parallel-mtard'));
    teachers = { clean: createModel(buildConfig('fmnist-tiny', 'static'), 11), adv: createModel(buildConfig('fmnist-tiny', 'static'), 12) };
    await saveCheckpoint(join(dir, 'clean'), { model: teachers.clean });
    await saveCheckpoint(join(dir, 'adv'), { model: teachers.adv });
    setup = { backend: 'wasm', preset: 'fmnist-tiny', variant: 'awnet', mode: 'mtard', weightDecay: 5e-4, tradesBeta: 6, teachers: { clean: join(dir, 'clean'), adv: join(dir, 'adv') } };
  });
  after(async () => {
    teachers.clean.dispose();
    teachers.adv.dispose();
    await cleanup();
  });

  it('with one worker moves the model as the single-thread step does (PGD-2 attack, same seed)', async () => {
    const pool = await ParallelPgdAt.start(1, setup);
    try {
      const attack = trainingAttack('pgd', 0.1, { steps: 2, stepSize: 0.05 });
      const reference = createModel(buildConfig('fmnist-tiny', 'awnet'), 0);
      const parallel = createModel(buildConfig('fmnist-tiny', 'awnet'), 0);
      const expectedLoss = singleThreadStep(reference, attack, 5);
      const start = snapshot(parallel);
      const result = await pool.step(parallel, sgd(), images, labels, { attack, evasion: NO_EVASION, seed: 5, alpha: ALPHA });
      assert.ok(maxDiff(start, snapshot(parallel)) > 1e-4, 'the step changed the weights');
      assert.ok(maxDiff(snapshot(reference), snapshot(parallel)) < 1e-6);
      assert.ok(Math.abs(result.figures.loss - expectedLoss) < 1e-5, `loss ${result.figures.loss} vs ${expectedLoss}`);
      assert.ok(result.figures.lossNat > 0 && result.figures.lossAdv > 0, 'the workers distilled from their teachers');
      reference.dispose();
      parallel.dispose();
    } finally {
      await pool.close();
    }
  });

  it('with two workers averages two identical shards into the single-thread step on one of them', async () => {
    const pool = await ParallelPgdAt.start(2, setup);
    try {
      // eps = 0 makes the attack deterministic (x_adv = x) whatever each shard's seed.
      const attack = trainingAttack('pgd', 0, { steps: 2, stepSize: 0 });
      const reference = createModel(buildConfig('fmnist-tiny', 'awnet'), 0);
      const parallel = createModel(buildConfig('fmnist-tiny', 'awnet'), 0);
      const expectedLoss = singleThreadStep(reference, attack, 0);
      const twice = new Float32Array(images.length * 2);
      twice.set(images);
      twice.set(images, images.length);
      const result = await pool.step(parallel, sgd(), twice, Int32Array.from([...labels, ...labels]), { attack, evasion: NO_EVASION, seed: 0, alpha: ALPHA });
      assert.ok(maxDiff(snapshot(reference), snapshot(parallel)) < 1e-6, 'gradients and BN statistics are averaged');
      assert.ok(Math.abs(result.figures.loss - expectedLoss) < 1e-5);
      reference.dispose();
      parallel.dispose();
    } finally {
      await pool.close();
    }
  });
});
