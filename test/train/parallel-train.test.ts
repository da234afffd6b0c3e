import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCheckpoint, readLog, runCli, tempDir, TINY_MODEL_ARGS } from './helpers.js';

const STEPS_PER_EPOCH = 8;

function trainArgs(out: string, epochs: number, extra: string[] = []): string[] {
  return [
    'train',
    // 8 steps of 16 images an epoch: two shards of 8 per step, enough to lower the loss.
    '--limit', '160',
    '--val-size', '32',
    '--val-pgd-size', '16',
    '--val-attack-steps', '2',
    '--epochs', String(epochs),
    '--batch-size', '16',
    '--attack-steps', '2',
    '--lr', '0.1',
    '--checkpoint-every', '4',
    ...TINY_MODEL_ARGS,
    '--out', out,
    ...extra,
  ];
}

describe('train --workers 2 on real Fashion-MNIST', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('parallel'));
  });
  after(() => cleanup());

  it('lowers the loss, records the worker count and writes a checkpoint that resumes', async () => {
    const out = join(dir, 'run');
    const first = await runCli(trainArgs(out, 2, ['--workers', '2']));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /training on 2 worker threads/);
    const log = readLog(out);
    assert.deepEqual(log.map((r) => r.epoch), [1, 2]);
    const [e1, e2] = log as [{ trainLoss: number }, { trainLoss: number }];
    assert.ok(Number.isFinite(e1.trainLoss) && Number.isFinite(e2.trainLoss));
    assert.ok(e2.trainLoss < e1.trainLoss, `epoch 2 loss ${e2.trainLoss} is below epoch 1 loss ${e1.trainLoss}`);

    const latest = join(out, 'checkpoints', 'latest');
    const saved = readCheckpoint(latest);
    assert.ok(saved !== null);
    assert.equal(saved.step, 2 * STEPS_PER_EPOCH);
    const savedSettings = saved.trainerState.settings as { workers: number };
    assert.equal(savedSettings.workers, 2, 'the checkpoint records the worker count');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { settings: { workers: number } };
    assert.equal(summary.settings.workers, 2);

    // A resume may change the worker count; it continues from the saved step.
    const resumed = await runCli(trainArgs(out, 3, ['--workers', '1', '--resume']));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resumed from .*latest/);
    assert.doesNotMatch(resumed.stdout, /worker threads/);
    const final = readCheckpoint(latest);
    assert.ok(final !== null);
    assert.equal(final.step, 3 * STEPS_PER_EPOCH);
    assert.notEqual(final.sha256, saved.sha256, 'the resumed epoch trained the model on');
    const log3 = readLog(out) as { epoch: number; trainLoss: number }[];
    assert.deepEqual(log3.map((r) => r.epoch), [1, 2, 3], 'each epoch logged once');
    assert.ok(Number.isFinite(log3[2]!.trainLoss));
  });

  it('rejects a bad worker count with a stable code', async () => {
    const zero = await runCli(trainArgs(join(dir, 'zero'), 1, ['--workers', '0']));
    assert.equal(zero.code, 1);
    assert.match(zero.stderr, /^awnet train: option '--workers <n>' argument '0' is invalid\. Expected an integer ≥ 1\. \[CLI_BAD_USAGE\]$/m);
  });
});
