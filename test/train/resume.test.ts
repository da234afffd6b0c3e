import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCheckpoint, readLog, runCli, startCli, tempDir, TINY_MODEL_ARGS } from './helpers.js';

const STEPS_PER_EPOCH = 8;
const EPOCHS = 2;

function trainArgs(out: string, extra: string[] = []): string[] {
  return [
    'train',
    // 8 steps of 16: what a resume must get right does not depend on the batch size.
    '--limit', '160',
    '--val-size', '32',
    '--val-pgd-size', '16',
    '--val-attack-steps', '2',
    '--epochs', String(EPOCHS),
    '--batch-size', '16',
    '--attack-steps', '2',
    '--lr', '0.1',
    '--checkpoint-every', '1',
    ...TINY_MODEL_ARGS,
    '--out', out,
    ...extra,
  ];
}

describe('kill -9 in mid-epoch, then --resume', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('resume'));
  });
  after(() => cleanup());

  it('continues from the saved step with the same data order, ending where an uninterrupted run ends', async () => {
    // The uninterrupted run goes on beside the one that is killed: nothing in either depends on timing.
    const straight = join(dir, 'straight');
    const referenceRun = runCli(trainArgs(straight));

    const killed = join(dir, 'killed');
    const latest = join(killed, 'checkpoints', 'latest');
    const first = startCli(trainArgs(killed));
    // Wait until a mid-epoch checkpoint of the first epoch exists, then kill without warning.
    let saved = null;
    for (let i = 0; i < 1200; i++) {
      saved = readCheckpoint(latest);
      if (saved !== null && saved.step >= 3) break;
      await sleep(50);
    }
    assert.ok(saved !== null && saved.step >= 3, 'a mid-epoch checkpoint appeared');
    first.child.kill('SIGKILL');
    const killedResult = await first.done;
    assert.equal(killedResult.signal, 'SIGKILL');
    const atKill = readCheckpoint(latest);
    assert.ok(atKill !== null);
    assert.ok(atKill.step < STEPS_PER_EPOCH * EPOCHS, `killed before the end (checkpoint at step ${atKill.step})`);

    const reference = await referenceRun;
    assert.equal(reference.code, 0, reference.stderr);
    const referenceFinal = readCheckpoint(join(straight, 'checkpoints', 'latest'));
    assert.ok(referenceFinal !== null);
    assert.equal(referenceFinal.step, STEPS_PER_EPOCH * EPOCHS);

    const resumed = await runCli(trainArgs(killed, ['--resume']));
    assert.equal(resumed.code, 0, resumed.stderr);
    const { epoch, stepInEpoch, globalStep } = atKill.trainerState;
    assert.match(resumed.stdout, new RegExp(`resumed from .*latest: epoch ${epoch + 1}, step ${stepInEpoch} of ${STEPS_PER_EPOCH} \\(global step ${globalStep}\\)`));
    assert.ok(globalStep >= 3, 'resumed from a later step, not from zero');

    const final = readCheckpoint(latest);
    assert.ok(final !== null);
    assert.equal(final.step, STEPS_PER_EPOCH * EPOCHS);
    // Same data order, augmentation and attack randomness: bit-identical weights.
    assert.equal(final.sha256, referenceFinal.sha256, 'the resumed run ends with the uninterrupted run\'s weights');

    const log = readLog(killed);
    assert.deepEqual(log.map((r) => r.epoch), [1, 2], 'each epoch logged once');
    const resumedRecord = log.find((r) => r.resumedAtStep !== null);
    assert.ok(resumedRecord, 'the resumed epoch says where it resumed');
    assert.equal(resumedRecord.resumedAtStep, stepInEpoch);
    const referenceLog = readLog(straight);
    for (const key of ['trainLoss', 'trainCleanAcc', 'valCleanAcc', 'valPgdAcc']) {
      assert.deepEqual(log.map((r) => r[key]), referenceLog.map((r) => r[key]), `${key} matches the uninterrupted run`);
    }
  });

  it('Ctrl-C (SIGINT) finishes the current step, saves a checkpoint and exits 130', async () => {
    const out = join(dir, 'interrupted');
    const latest = join(out, 'checkpoints', 'latest');
    // Steps of 32 images leave the interrupt time to land before the epoch's last step.
    const run = startCli(trainArgs(out, ['--checkpoint-every', '3', '--limit', '288', '--batch-size', '32']));
    for (let i = 0; i < 1200 && (readCheckpoint(latest)?.step ?? 0) < 3; i++) await sleep(50);
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    const m = /interrupted at epoch 1 step (\d+); saved .*latest \(continue with --resume\)/.exec(result.stdout);
    assert.ok(m, result.stdout);
    const saved = readCheckpoint(latest);
    assert.ok(saved !== null);
    assert.equal(saved.step, Number(m[1]), 'the checkpoint holds the step the interrupt stopped at');
    assert.ok(saved.step >= 3 && saved.step < STEPS_PER_EPOCH, 'saved in mid-epoch');
  });

  it('refuses to resume with different settings, or to overwrite a run without --resume', async () => {
    const killed = join(dir, 'killed');
    // All three are refused before anything is written: they run side by side.
    const [changed, again, nothing] = await Promise.all([
      runCli(trainArgs(killed, ['--resume', '--lr', '0.2'])),
      runCli(trainArgs(killed)),
      runCli(trainArgs(join(dir, 'empty'), ['--resume'])),
    ]);
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /awnet train: cannot resume .* with different settings:[\s\S]*\[TRAIN_RESUME_MISMATCH\]/);
    assert.match(changed.stderr, /^\s+lr: checkpoint has 0.1, command has 0.2( \[TRAIN_RESUME_MISMATCH\])?$/m);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /awnet train: .*already holds a run.*--resume[\s\S]*\[TRAIN_OUT_EXISTS\]/);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /awnet train: nothing to resume[\s\S]*\[TRAIN_NOTHING_TO_RESUME\]/);
  });
});
