import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { progressHooks } from '../../src/train/progress.js';
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
});
