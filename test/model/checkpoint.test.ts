import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { createModel, type AwNet } from '../../src/model/awnet.js';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../../src/model/checkpoint.js';
import { ModelError } from '../../src/model/errors.js';
import type { Model } from '../../src/model/types.js';
import { images, maxAbsDiff, tinyConfig, useCpuBackend } from './helpers.js';

const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([3, 1, 4, 1], 'int32'), 10));
const types = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 0, 1, 1], 'int32'), 2));

function trainStep(model: Model, optimizer: tf.Optimizer, x: tf.Tensor4D): void {
  const cost = optimizer.minimize(
    () => {
      const out = model.forward(x, { training: true, cleanCount: 2 });
      return tf.add(tf.losses.softmaxCrossEntropy(labels, out.logits), tf.losses.softmaxCrossEntropy(types, out.typeLogits!)) as tf.Scalar;
    },
    true,
    model.trainableVariables(),
  );
  cost?.dispose();
}

function assertSameVariables(a: Model, b: Model, tolerance = 0): void {
  assert.deepEqual([...a.namedVariables().keys()], [...b.namedVariables().keys()]);
  for (const [name, v] of a.namedVariables()) {
    const diff = maxAbsDiff(v, b.namedVariables().get(name)!);
    assert.ok(diff <= tolerance, `${name} differs by ${diff}`);
  }
}

const expectError = async (p: Promise<unknown>, code: string, re: RegExp): Promise<void> => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ModelError, `a ModelError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
};

describe('checkpoints', () => {
  let root: string;
  let model: AwNet;
  let optimizer: tf.Optimizer;
  let dir: string;
  const x = (): tf.Tensor4D => images(tinyConfig('awnet'), 4, 1);
  const trainerState = { alpha: { nat: 0.4, adv: 0.6 }, schedule: { step: 17, lr: 0.001 }, order: [3, 1, 2] };

  before(async () => {
    await useCpuBackend();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'awnet-ckpt-'));
    model = createModel(tinyConfig('awnet', { bnMomentum: 0.5 }), 7);
    optimizer = tf.train.adam(0.01);
    trainStep(model, optimizer, x());
    trainStep(model, optimizer, x());
    dir = path.join(root, 'ckpt');
    await saveCheckpoint(dir, { model, optimizer, epoch: 3, step: 17, rng: { seed: 42, state: { s: [1, 2, 3] } }, trainerState });
  });
  after(async () => {
    model.dispose();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('writes checkpoint.json and weights.bin and nothing else', async () => {
    assert.deepEqual((await fs.readdir(dir)).sort(), ['checkpoint.json', 'weights.bin']);
    assert.deepEqual((await fs.readdir(root)).sort(), ['ckpt']);
    const meta = await readCheckpointMeta(dir);
    assert.equal(meta.variables.length, model.namedVariables().size);
    assert.ok(meta.variables.some((e) => e.name === 'main/stem/bn/adv/moving_variance'));
    assert.ok(meta.optimizer!.weights.some((e) => e.name === 'main/stem/conv/kernel/m'), 'slots stored by stable name');
  });

  it('round-trip restores every variable, identical outputs and the training state', async () => {
    const loaded = await loadCheckpoint(dir, { expect: { preset: 'fmnist-tiny', variant: 'awnet' } });
    assert.deepEqual(loaded.config, model.config);
    assertSameVariables(model, loaded.model);
    const input = x();
    for (const training of [false, true]) {
      const a = model.forward(input, { training, cleanCount: 2 });
      const b = loaded.model.forward(input, { training, cleanCount: 2 });
      assert.equal(maxAbsDiff(a.logits, b.logits), 0);
      assert.equal(maxAbsDiff(a.pClean!, b.pClean!), 0);
    }
    assert.equal(loaded.epoch, 3);
    assert.equal(loaded.step, 17);
    assert.deepEqual(loaded.rng, { seed: 42, state: { s: [1, 2, 3] } });
    assert.deepEqual(loaded.trainerState, trainerState);
    loaded.model.dispose();
  });

  it('restores the optimizer: the next step from the checkpoint equals the next step of the original', async () => {
    // The model's running statistics moved in training-mode forwards above: save its state now.
    const resumeDir = path.join(root, 'resume');
    await saveCheckpoint(resumeDir, { model, optimizer, epoch: 3, step: 17 });
    const loaded = await loadCheckpoint(resumeDir);
    const restored = await loaded.createOptimizer();
    assert.ok(restored);
    assert.equal(restored.getClassName(), 'Adam');
    assert.deepEqual(restored.getConfig(), optimizer.getConfig());
    const fresh = await loadCheckpoint(resumeDir);
    const input = x();
    trainStep(model, optimizer, input);
    trainStep(loaded.model, restored, input);
    trainStep(fresh.model, tf.train.adam(0.01), input);
    assertSameVariables(model, loaded.model, 1e-6);
    const k = 'main/stage1/block0/conv1/kernel';
    assert.ok(maxAbsDiff(model.namedVariables().get(k)!, fresh.model.namedVariables().get(k)!) > 1e-4, 'a fresh optimizer would step differently');
    loaded.model.dispose();
    fresh.model.dispose();
  });

  it('restores momentum-SGD state and refuses a different optimizer class', async () => {
    const m = createModel(tinyConfig('static'), 3);
    const sgd = tf.train.momentum(0.05, 0.9);
    const input = x();
    trainStepStatic(m, sgd, input);
    const sgdDir = path.join(root, 'sgd');
    await saveCheckpoint(sgdDir, { model: m, optimizer: sgd, epoch: 1, step: 1 });
    const loaded = await loadCheckpoint(sgdDir, { expect: { variant: 'static' } });
    const other = tf.train.momentum(0.05, 0.9);
    await loaded.restoreOptimizer(other);
    trainStepStatic(m, sgd, input);
    trainStepStatic(loaded.model, other, input);
    assertSameVariables(m, loaded.model, 1e-6);
    await expectError(loaded.restoreOptimizer(tf.train.adam()), 'CHECKPOINT_OPTIMIZER', /Momentum state, cannot restore it into Adam/);
    const noOpt = path.join(root, 'no-opt');
    await saveCheckpoint(noOpt, { model: m });
    const bare = await loadCheckpoint(noOpt);
    assert.equal(await bare.createOptimizer(), null);
    await expectError(bare.restoreOptimizer(tf.train.adam()), 'CHECKPOINT_OPTIMIZER', /holds no optimizer state/);
    for (const mm of [m, loaded.model, bare.model]) mm.dispose();
  });

  it('a save over an existing checkpoint replaces it completely and leaves no temporary files', async () => {
    const over = path.join(root, 'over');
    await saveCheckpoint(over, { model, epoch: 1, step: 1 });
    await saveCheckpoint(over, { model, optimizer, epoch: 2, step: 9 });
    assert.equal((await readCheckpointMeta(over)).step, 9);
    assert.deepEqual((await fs.readdir(root)).filter((n) => n.startsWith('over')), ['over']);
  });

  it('a failed save leaves the previous checkpoint intact', async () => {
    const keep = path.join(root, 'keep');
    await saveCheckpoint(keep, { model, epoch: 1, step: 5 });
    const failing = Object.assign(Object.create(tf.train.adam()) as tf.Optimizer, {
      getWeights: () => Promise.reject(new Error('disk full')),
    });
    await assert.rejects(saveCheckpoint(keep, { model, optimizer: failing, epoch: 2, step: 6 }), /disk full/);
    const blocker = path.join(root, 'a-file');
    await fs.writeFile(blocker, 'x');
    await assert.rejects(saveCheckpoint(path.join(blocker, 'ckpt'), { model }));
    const loaded = await loadCheckpoint(keep);
    assert.equal(loaded.step, 5);
    loaded.model.dispose();
    assert.deepEqual((await fs.readdir(root)).filter((n) => n.startsWith('keep') || n.startsWith('a-file')).sort(), ['a-file', 'keep']);
  });

  it('a save killed between its renames is completed by the next load; debris goes at the next save', async () => {
    const target = path.join(root, 'crash');
    await saveCheckpoint(target, { model, epoch: 1, step: 1 });
    // The state a kill leaves after rename(target → old) and before rename(tmp → target).
    await fs.cp(dir, `${target}.tmp-123-abcd`, { recursive: true });
    await fs.rename(target, `${target}.old-123-abcd`);
    const loaded = await loadCheckpoint(target);
    assert.equal(loaded.step, 17, 'the newer, complete copy wins');
    loaded.model.dispose();
    assert.deepEqual((await fs.readdir(root)).filter((n) => n.startsWith('crash')), ['crash']);
    // A save killed while writing: its incomplete copy is ignored, then cleared.
    await fs.mkdir(`${target}.tmp-456-beef`);
    await fs.writeFile(`${target}.tmp-456-beef/weights.bin`, 'partial');
    assert.equal((await readCheckpointMeta(target)).step, 17);
    await saveCheckpoint(target, { model, epoch: 2, step: 20 });
    assert.deepEqual((await fs.readdir(root)).filter((n) => n.startsWith('crash')), ['crash']);
    assert.equal((await readCheckpointMeta(target)).step, 20);
  });

  describe('damaged or mismatched checkpoints give clear errors', () => {
    const copy = async (name: string): Promise<string> => {
      const target = path.join(root, name);
      await fs.cp(dir, target, { recursive: true });
      return target;
    };

    it('missing directory, checkpoint.json or weights.bin', async () => {
      const nowhere = path.join(root, 'nowhere');
      await expectError(loadCheckpoint(nowhere), 'CHECKPOINT_MISSING', new RegExp(`${nowhere} does not exist`));
      const noJson = await copy('no-json');
      await fs.rm(path.join(noJson, 'checkpoint.json'));
      await expectError(loadCheckpoint(noJson), 'CHECKPOINT_MISSING', /no-json\/checkpoint\.json is missing/);
      const noWeights = await copy('no-weights');
      await fs.rm(path.join(noWeights, 'weights.bin'));
      await expectError(loadCheckpoint(noWeights), 'CHECKPOINT_MISSING', /no-weights\/weights\.bin is missing/);
    });

    it('truncated or altered weights', async () => {
      const truncated = await copy('truncated');
      const file = path.join(truncated, 'weights.bin');
      const bytes = await fs.readFile(file);
      await fs.writeFile(file, bytes.subarray(0, 1000));
      await expectError(loadCheckpoint(truncated), 'CHECKPOINT_TRUNCATED', new RegExp(`weights\\.bin is truncated: 1000 bytes, checkpoint\\.json expects ${bytes.length}`));
      const flipped = await copy('flipped');
      const altered = Buffer.from(bytes);
      altered[123] = altered[123]! ^ 0xff;
      await fs.writeFile(path.join(flipped, 'weights.bin'), altered);
      await expectError(loadCheckpoint(flipped), 'CHECKPOINT_CORRUPT', /flipped\/weights\.bin is corrupt: its SHA-256/);
    });

    it('damaged or foreign checkpoint.json', async () => {
      const broken = await copy('broken-json');
      const jsonFile = path.join(broken, 'checkpoint.json');
      const text = await fs.readFile(jsonFile, 'utf8');
      await fs.writeFile(jsonFile, text.slice(0, text.length / 2));
      await expectError(loadCheckpoint(broken), 'CHECKPOINT_CORRUPT', /broken-json\/checkpoint\.json is not valid JSON/);
      const foreign = await copy('foreign');
      await fs.writeFile(path.join(foreign, 'checkpoint.json'), JSON.stringify({ format: 'keras' }));
      await expectError(loadCheckpoint(foreign), 'CHECKPOINT_CORRUPT', /format is "keras", expected "awnet-checkpoint"/);
      const renamed = await copy('renamed');
      const meta = JSON.parse(text) as { variables: { name: string }[] };
      meta.variables[0]!.name = 'main/stem/conv/kernel_old';
      await fs.writeFile(path.join(renamed, 'checkpoint.json'), JSON.stringify(meta));
      await expectError(loadCheckpoint(renamed), 'CHECKPOINT_MISMATCH', /missing \[main\/stem\/conv\/kernel\], unexpected \[main\/stem\/conv\/kernel_old\]/);
    });

    it('a different preset or variant than the caller expects', async () => {
      await expectError(loadCheckpoint(dir, { expect: { preset: 'cifar10-resnet18' } }), 'CHECKPOINT_MISMATCH', /holds preset "fmnist-tiny", expected "cifar10-resnet18"/);
      await expectError(readCheckpointMeta(dir, { expect: { variant: 'static' } }), 'CHECKPOINT_MISMATCH', /holds variant "awnet", expected "static"/);
    });
  });
});

function trainStepStatic(model: Model, optimizer: tf.Optimizer, x: tf.Tensor4D): void {
  optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x, { training: true }).logits) as tf.Scalar, false, model.trainableVariables());
}
