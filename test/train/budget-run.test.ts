import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { initBackend } from '../../src/tf/backend.js';
import { TRAIN_DEFAULTS, type TrainSettings } from '../../src/train/settings.js';
import { train, type StepProgress } from '../../src/train/trainer.js';
import { readLog, tempDir } from './helpers.js';

function settings(out: string): TrainSettings {
  return {
    ...TRAIN_DEFAULTS,
    overrides: { main: { stem: 8, widths: [8, 16, 16] }, router: { stem: 4, widths: [4, 8, 8] } },
    dataDir: null,
    limit: 480,
    skipCorrupt: false,
    valSize: 64,
    valPgdSize: 32,
    valAttackSteps: 2,
    epochs: 50,
    batchSize: 32,
    lr: 0.1,
    lrSchedule: 'one-cycle',
    eps: 0.1,
    attack: 'fgsm-rs',
    attackSteps: 1,
    attackStepSize: 0.125,
    attackNoise: 0.1,
    evasionShare: 0.5,
    benignShare: 0.5,
    timeBudgetMinutes: 0.5,
    augment: true,
    checkpointEvery: 0,
    initFrom: null,
    teacherClean: null,
    teacherAdv: null,
    out,
  };
}

describe('a run with a time budget', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    ({ dir, cleanup } = await tempDir('budget-run'));
  });
  after(() => cleanup());

  it('plans its steps, ends its schedule at the planned step and keeps the best checkpoint', async () => {
    const s = settings(join(dir, 'run'));
    const lines: string[] = [];
    const steps: StepProgress[] = [];
    const result = await train(s, { resume: false, hooks: { log: (l) => lines.push(l), onStep: (p) => steps.push(p) } });
    assert.equal(result.status, 'finished');
    assert.ok(lines.some((l) => l.startsWith('time budget 0.5 min: planned')), lines.join('\n'));
    // The plan holds fewer steps than the 50-epoch cap, and the run took exactly its plan.
    const planned = result.state.plannedSteps!;
    assert.ok(planned < 50 * 13, `planned ${planned}`);
    assert.equal(result.globalStep, planned);
    assert.ok(steps.every((p) => p.budgetLeftSeconds !== null));
    // On a steady machine the last planned step is the schedule's end. A slowdown too sudden for
    // the re-plans (a busy CI host) makes the run stop early to keep its last validation in the
    // budget: then the log names the step, and the run ends exactly there.
    const stop = lines.map((l) => /^time budget: stopping at step (\d+)/.exec(l)).find((m) => m !== null);
    if (stop) assert.equal(result.globalStep, Number(stop[1]), lines.join('\n'));
    // One-cycle's last step (planned - 1) is one decrement above 0: 0.1 * (1 / planned) / (1 - 0.4).
    // A plan made while other work slowed the first steps is short, so this is not always small.
    else assert.ok(Math.abs(steps.at(-1)!.lr - 0.1 / planned / 0.6) < 1e-9, `one-cycle ends at the last planned step (${planned}), got lr ${steps.at(-1)!.lr}`);
    assert.ok(result.state.firstPlanSeconds !== null);

    const log = readLog(s.out);
    const best = result.state.best!;
    const marked = log.filter((r) => r.best === true).map((r) => r.epoch);
    assert.equal(marked.at(-1), best.epoch, 'the log marks the best epoch');
    const bestRecord = log.find((r) => r.epoch === best.epoch)!;
    assert.equal(bestRecord.valWRobust, Math.max(...log.map((r) => r.valWRobust as number)));
    for (const r of log) {
      assert.ok((r.valWorstAcc as number) <= (r.valPgdAcc as number), 'the worst case is never above PGD alone');
      assert.equal(typeof r.valFgsmAcc, 'number');
    }
    const marker = JSON.parse(readFileSync(join(s.out, 'checkpoints', 'best.json'), 'utf8')) as { epoch: number };
    assert.equal(marker.epoch, best.epoch);
    assert.ok(existsSync(join(s.out, 'checkpoints', 'best', 'checkpoint.json')));
    const loaded = await loadCheckpoint(join(s.out, 'checkpoints', 'best'));
    assert.equal(loaded.epoch, best.epoch);
    loaded.model.dispose();
  });
});
