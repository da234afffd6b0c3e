import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { EpochRecord } from '../../src/train/epoch-stats.js';
import { budgetNote, formatEpoch, progressHooks } from '../../src/train/progress.js';
import type { StepProgress } from '../../src/train/trainer.js';

function progress(step: number): StepProgress {
  return {
    epoch: 1,
    epochs: 2,
    step,
    steps: 10,
    globalStep: step,
    totalSteps: 20,
    stepSeconds: 0.5,
    figures: { loss: 1, lossType: 0, lossNat: 1, lossAdv: 1, correctClean: 1, correctAdv: 1, typeCorrect: 1, count: 2 },
    epochLoss: 1.25,
    epochAcc: 0.5,
    imagesPerSecond: 100,
    lr: 0.1,
    budgetLeftSeconds: 600,
  };
}

describe('training progress bar', () => {
  it('keeps drawing after a line is logged in mid-epoch, and shows the budget left', async () => {
    const stream = new PassThrough();
    let drawn = '';
    stream.on('data', (d: Buffer) => (drawn += d.toString()));
    const lines: string[] = [];
    const hooks = progressHooks({ log: (l) => lines.push(l), plainEveryMs: 5, stream });
    hooks.onEpochStart!({ epoch: 1, epochs: 2, steps: 10, startStep: 0 });
    hooks.onStep!(progress(3));
    await sleep(30);
    hooks.log!('time budget 1 min: planned 20 steps');
    drawn = '';
    hooks.onStep!(progress(7));
    await sleep(30);
    hooks.stop();
    assert.deepEqual(lines, ['time budget 1 min: planned 20 steps']);
    assert.match(drawn, /epoch 1\/2 .* 7\/10 /, drawn);
    assert.match(drawn, /budget left 10m00s \(step 7\/20\)/);
  });

  it('says what the Square Attack added to the worst case, and of how many images', () => {
    const record: EpochRecord = {
      epoch: 3, epochs: 20, steps: 429, trainLoss: 1, trainLossType: 0.5, trainLossNat: 0.4, trainLossAdv: 0.6, trainCleanAcc: 0.9, trainAdvAcc: 0.7,
      trainRouterAcc: 0.8, valCleanAcc: 0.888, valPgdAcc: 0.7, valFgsmAcc: 0.75, valWorstAcc: 0.64, valSquareFooled: 11, valWRobust: 0.764, valRouterAcc: 0.8,
      valSize: 5000, valPgdSize: 300, lr: 0.05, alphaNat: 0.5, alphaAdv: 0.5, imagesPerSecond: 170, trainSeconds: 300, valSeconds: 30,
      resumedAtStep: null, best: true, catastrophicOverfitting: false, robustnessCollapse: false, budgetLeftSeconds: null, time: '2026-01-01T00:00:00Z',
    };
    assert.match(formatEpoch(record), /worst 64\.0 ?% \(Square broke 11 more of 300\) W-Robust/);
    assert.match(formatEpoch({ ...record, valSquareFooled: 0 }), /\(Square broke 0 more of 300\)/);
    assert.doesNotMatch(formatEpoch({ ...record, valSquareFooled: null }), /Square/);
  });

  it('names the budget, and the first plan only when there was one', () => {
    assert.equal(budgetNote(45, 2698.4), 'budget 2700 s, first plan 2698 s');
    assert.equal(budgetNote(45, null), 'budget 2700 s, ended before its first plan');
  });
});
