import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { ParallelPgdAt } from '../../src/train/parallel-step.js';
import { sortedVariables, type ParallelSetup } from '../../src/train/parallel-protocol.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { buildConfig, createModel } from '../../src/model/index.js';
import type { Model } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';
import { adversarialRows, NO_EVASION, trainingAttack } from '../../src/train/training-attack.js';
import { initialAlpha } from '../../src/train/objective.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { decayingVariables, trainStep } from '../../src/train/train-step.js';

const SETUP: ParallelSetup = { backend: 'wasm', preset: 'fmnist-tiny', variant: 'awnet', weightDecay: 5e-4, tradesBeta: 6 };
const sgd = () => createOptimizer({ name: 'sgd', lr: 0.05, momentum: 0.9 });

/** Every variable of the model, flattened in sortedVariables order. */
function snapshot(model: Model): Float32Array {
  return Float32Array.from(sortedVariables(model).flatMap(([, v]) => Array.from(v.dataSync())));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

/** The trainer's own single-thread PGD-AT step. */
function singleThreadStep(model: Model, images: Float32Array, labels: Int32Array, eps: number, seed: number): number {
  const n = labels.length;
  const x = tf.tensor4d(images, [n, 28, 28, 1]);
  const y = tf.tensor1d(labels, 'int32');
  const { xAdv } = adversarialRows(model, x, y, 'pgd-at', trainingAttack('pgd', eps, { steps: 2, stepSize: eps / 2 }), NO_EVASION, seed);
  const ctx = { model, optimizer: sgd(), mode: 'pgd-at' as const, tradesBeta: 6, weightDecay: 5e-4 };
  const figures = trainStep(ctx, x, xAdv, y, initialAlpha('pgd-at'), decayingVariables(model));
  tf.dispose([x, y, xAdv]);
  return figures.loss;
}

describe('data-parallel PGD-AT step over worker threads', () => {
  let images: Float32Array;
  let labels: Int32Array;

  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const data = await loadFashionMnist({ split: 'train', limit: 8 });
    images = data.images;
    labels = data.labels;
  });

  describe('with one worker', () => {
    let pool: ParallelPgdAt;
    before(async () => (pool = await ParallelPgdAt.start(1, SETUP)));
    after(() => pool.close());

    it('moves the model exactly as the single-thread step does', async () => {
      const reference = createModel(buildConfig('fmnist-tiny', 'awnet'), 0);
      const parallel = createModel(buildConfig('fmnist-tiny', 'awnet'), 0);
      const expectedLoss = singleThreadStep(reference, images, labels, 0.1, 3);
      const before = snapshot(parallel);
      const result = await pool.step(parallel, sgd(), images, labels, { attack: trainingAttack('pgd', 0.1, { steps: 2, stepSize: 0.05 }), evasion: NO_EVASION, seed: 3 });
      assert.ok(maxDiff(before, snapshot(parallel)) > 1e-4, 'the step changed the weights');
      assert.ok(maxDiff(snapshot(reference), snapshot(parallel)) < 1e-6);
      assert.ok(Math.abs(result.figures.loss - expectedLoss) < 1e-5);
      assert.equal(result.figures.count, labels.length);
      reference.dispose();
      parallel.dispose();
    });
  });

  describe('with two workers', () => {
    let pool: ParallelPgdAt;
    before(async () => (pool = await ParallelPgdAt.start(2, SETUP)));
    after(() => pool.close());

    it('averages two identical shards into the single-thread step on one of them', async () => {
      // eps = 0 makes the attack deterministic (x_adv = x) whatever each shard's seed.
      const reference = createModel(buildConfig('fmnist-tiny', 'awnet'), 0);
      const parallel = createModel(buildConfig('fmnist-tiny', 'awnet'), 0);
      singleThreadStep(reference, images, labels, 0, 0);
      const twice = new Float32Array(images.length * 2);
      twice.set(images);
      twice.set(images, images.length);
      const twiceLabels = Int32Array.from([...labels, ...labels]);
      const result = await pool.step(parallel, sgd(), twice, twiceLabels, { attack: trainingAttack('pgd', 0, { steps: 2, stepSize: 0 }), evasion: NO_EVASION, seed: 0 });
      assert.ok(maxDiff(snapshot(reference), snapshot(parallel)) < 1e-6, 'gradients and BN statistics are averaged');
      assert.equal(result.figures.count, 2 * labels.length);
      reference.dispose();
      parallel.dispose();
    });
  });
});
