import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../../src/model/awnet.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { buildConfig } from '../../src/model/presets.js';
import { initBackend } from '../../src/tf/backend.js';
import { AdaptiveAlpha } from '../../src/train/adaptive-alpha.js';
import { TrainError } from '../../src/train/errors.js';
import { TRAIN_DEFAULTS, type TrainSettings } from '../../src/train/settings.js';
import { train, type StepProgress } from '../../src/train/trainer.js';
import { readLog, tempDir } from './helpers.js';

const OVERRIDES = { main: { stem: 8, widths: [8, 16, 16] }, router: { stem: 4, widths: [4, 8, 8] } };

function settings(out: string, extra: Partial<TrainSettings>): TrainSettings {
  return {
    ...TRAIN_DEFAULTS,
    overrides: OVERRIDES,
    dataDir: null,
    limit: 112,
    skipCorrupt: false,
    valSize: 16,
    valPgdSize: 16,
    valAttackSteps: 2,
    // A few Square queries per image the gradient attacks leave (the default is 300): the path
    // runs, and nothing here is measured on it.
    valSquareQueries: 5,
    epochs: 1,
    batchSize: 24,
    lr: 0.05,
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
    ...extra,
  };
}

describe('training modes and variants', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    ({ dir, cleanup } = await tempDir('modes'));
  });
  after(() => cleanup());

  it('trains static baselines (clean with eps 0, robust with PGD-AT) without any router figures', async () => {
    for (const [name, eps] of [
      ['clean-teacher', 0],
      ['robust-teacher', 0.1],
    ] as const) {
      const out = join(dir, name);
      const result = await train(settings(out, { variant: 'static', eps, epochs: 2 }), { resume: false });
      assert.equal(result.status, 'finished');
      const log = readLog(out);
      assert.equal(log.length, 2);
      for (const r of log) {
        assert.equal(r.trainRouterAcc, null);
        assert.equal(r.valRouterAcc, null);
        assert.equal(r.trainLossType, 0, 'no type loss without a router');
      }
      if (eps === 0) {
        // No attack: the "adversarial" half is the clean batch itself.
        for (const r of log) assert.equal(r.trainLossNat, r.trainLossAdv);
      }
    }
  });

  it('MTARD distils from both teachers and adapts α exactly as the formula says', async () => {
    const steps: StepProgress[] = [];
    const out = join(dir, 'mtard');
    const s = settings(out, { mode: 'mtard', teacherClean: join(dir, 'clean-teacher', 'checkpoints', 'latest'), teacherAdv: join(dir, 'robust-teacher', 'checkpoints', 'latest') });
    await train(s, { resume: false, hooks: { onStep: (p) => steps.push(p) } });
    assert.equal(steps.length, 4);
    const replay = new AdaptiveAlpha();
    for (const p of steps) {
      assert.ok(p.figures.lossNat > 0 && p.figures.lossAdv > 0, 'KL to each teacher is positive');
      replay.update(p.figures.lossNat, p.figures.lossAdv);
    }
    const [record] = readLog(out);
    assert.ok(record);
    assert.equal(record.alphaNat, replay.alphaNat);
    assert.equal(record.alphaAdv, replay.alphaAdv);
    assert.notEqual(record.alphaNat, 0.5, 'α moved');
    assert.ok(Math.abs((record.alphaNat as number) + (record.alphaAdv as number) - 1) < 1e-12);
  });

  it('TRADES trains on CE(clean) + β·KL(clean ‖ adv) with fixed α = 1', async () => {
    const steps: StepProgress[] = [];
    const out = join(dir, 'trades');
    await train(settings(out, { mode: 'trades', tradesBeta: 6 }), { resume: false, hooks: { onStep: (p) => steps.push(p) } });
    for (const p of steps) {
      const f = p.figures;
      assert.ok(f.lossAdv >= 0);
      assert.ok(Math.abs(f.loss - (f.lossType + f.lossNat + f.lossAdv)) < 1e-4, `total ${f.loss} = type + nat + adv`);
    }
    const [record] = readLog(out);
    assert.equal(record?.alphaNat, 1);
    assert.equal(record?.alphaAdv, 1);
  });

  it('PGD-AT weighs both halves by 0.5, and ablation variants train', async () => {
    for (const variant of ['dynamic-only', 'mixbn-single-bn'] as const) {
      const steps: StepProgress[] = [];
      await train(settings(join(dir, variant), { variant }), { resume: false, hooks: { onStep: (p) => steps.push(p) } });
      for (const { figures: f } of steps) {
        assert.ok(Math.abs(f.loss - (f.lossType + 0.5 * f.lossNat + 0.5 * f.lossAdv)) < 1e-4);
        assert.ok(f.lossType > 0, 'the router is trained on the type labels');
      }
    }
  });

  it('rejects a teacher whose classes differ from the student', async () => {
    const teacherDir = join(dir, 'five-class-teacher');
    const teacher = createModel(buildConfig('fmnist-tiny', 'static', { ...OVERRIDES, numClasses: 5 }), 3);
    await saveCheckpoint(teacherDir, { model: teacher });
    teacher.dispose();
    const clean = join(dir, 'clean-teacher', 'checkpoints', 'latest');
    const tensorsBefore = tf.memory().numTensors;
    await assert.rejects(
      train(settings(join(dir, 'mismatch'), { mode: 'mtard', teacherClean: clean, teacherAdv: teacherDir }), { resume: false }),
      (err: unknown) => err instanceof TrainError && err.code === 'TRAIN_TEACHER_MISMATCH' && /robust teacher .* 5 classes; the student .* 10/.test(err.message),
    );
    assert.equal(tf.memory().numTensors, tensorsBefore, 'the failed start released the student and the first teacher');
  });
});
