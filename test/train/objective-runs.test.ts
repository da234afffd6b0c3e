import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createModel } from '../../src/model/awnet.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { buildConfig } from '../../src/model/presets.js';
import { initBackend } from '../../src/tf/backend.js';
import type { TrainSettings } from '../../src/train/settings.js';
import { train, type StepProgress } from '../../src/train/trainer.js';
import { tempDir, tinyRunSettings } from './helpers.js';

const OVERRIDES = { main: { stem: 8, widths: [8, 16, 16] }, router: { stem: 4, widths: [4, 8, 8] } };

/** Largest change of any variable between a run's last checkpoint and the model it started from. */
async function largestChange(out: string, seed: number): Promise<number> {
  const { model } = await loadCheckpoint(join(out, 'checkpoints', 'latest'));
  const start = createModel(model.config, seed);
  let max = 0;
  try {
    const initial = start.namedVariables();
    for (const [name, v] of model.namedVariables()) {
      const a = v.dataSync();
      const b = initial.get(name)!.dataSync();
      for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    }
  } finally {
    model.dispose();
    start.dispose();
  }
  return max;
}

/** A few steps of `train`; every step's loss is finite and the variables moved. */
async function smoke(s: TrainSettings): Promise<StepProgress[]> {
  const steps: StepProgress[] = [];
  const result = await train(s, { resume: false, hooks: { onStep: (p) => steps.push(p) } });
  assert.equal(result.status, 'finished');
  assert.ok(steps.length >= 2, `${steps.length} steps`);
  for (const p of steps) assert.ok(Number.isFinite(p.figures.loss) && Number.isFinite(p.figures.lossAdv), `${s.mode}: loss ${p.figures.loss}`);
  assert.ok((await largestChange(s.out, s.seed)) > 1e-4, `${s.mode}: the variables moved`);
  return steps;
}

describe('each objective trains a few steps on a slice of Fashion-MNIST', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    ({ dir, cleanup } = await tempDir('objective-runs'));
  });
  after(() => cleanup());

  const tiny = (name: string, extra: Partial<TrainSettings>): TrainSettings => ({ ...tinyRunSettings(join(dir, name), OVERRIDES), attackSteps: 2, attackStepSize: 0.05, ...extra });

  it('gairat on two workers within a time budget, and its burn-in trains the first steps as plain PGD-AT', async () => {
    await smoke(tiny('gairat-workers', { mode: 'gairat', workers: 2, timeBudgetMinutes: 1 }));
    // Same seed, same first batch: the first step's adversarial loss is plain CE during the burn-in.
    const first = async (name: string, gairatBurnIn: number): Promise<number> => (await smoke(tiny(name, { mode: 'gairat', gairatBurnIn })))[0]!.figures.lossAdv;
    const plain = await first('gairat-all-burn-in', 1);
    const half = await first('gairat-half-burn-in', 0.5);
    const none = await first('gairat-no-burn-in', 0);
    assert.equal(half, plain, 'step 1 of 2 lies in a burn-in of half the run');
    assert.notEqual(none, plain, 'without a burn-in the first step is reweighted');
  });

  it('margin on two workers', async () => {
    await smoke(tiny('margin', { mode: 'margin', workers: 2 }));
  });

  it('ar-at on the static baseline (one BN) and on AW-Net over two workers, training the predictor head', async () => {
    for (const [variant, workers] of [
      ['static', 1],
      ['awnet', 2],
    ] as const) {
      const out = join(dir, `ar-at-${variant}`);
      const s = tiny(`ar-at-${variant}`, { mode: 'ar-at', variant, workers });
      await smoke(s);
      // The predictor is part of the checkpoint, so a resumed run trains the same head on.
      const resumed = await train({ ...s, epochs: 2 }, { resume: true });
      assert.equal(resumed.status, 'finished');
      const { model } = await loadCheckpoint(join(out, 'checkpoints', 'latest'));
      assert.equal(model.config.predictor, 4, 'a 16-channel network gets a predictor of width 4');
      assert.ok(model.namedVariables().has('predictor/fc2/kernel'));
      model.dispose();
    }
  });

  it('mtard on two workers, each loading both teachers', async () => {
    const teachers = { clean: join(dir, 'teacher-clean'), adv: join(dir, 'teacher-adv') };
    for (const [path, seed] of [
      [teachers.clean, 5],
      [teachers.adv, 6],
    ] as const) {
      const teacher = createModel(buildConfig('fmnist-tiny', 'static', OVERRIDES), seed);
      await saveCheckpoint(path, { model: teacher });
      teacher.dispose();
    }
    const steps = await smoke(tiny('mtard', { mode: 'mtard', workers: 2, teacherClean: teachers.clean, teacherAdv: teachers.adv }));
    assert.ok(steps.every((p) => p.figures.lossNat > 0 && p.figures.lossAdv > 0), 'both distillation terms are live');
  });
});
