import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkpointLabel, checkpointOrSelf, existingCheckpoint, findCheckpoint, trainCommandFor } from '../../src/contract/run-directory.js';
import { resolveCheckpointDir } from '../../export/checkpoint-source.js';

describe('run directories: one rule for every command that reads a checkpoint', () => {
  let dir = '';
  const run = (): string => join(dir, 'runs', 'awnet');
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'awnet-run-dir-'));
    for (const name of ['latest', 'best']) {
      await mkdir(join(run(), 'checkpoints', name), { recursive: true });
      await writeFile(join(run(), 'checkpoints', name, 'checkpoint.json'), '{}');
    }
    await mkdir(join(dir, 'plain'), { recursive: true });
    await writeFile(join(dir, 'plain', 'checkpoint.json'), '{}');
    await mkdir(join(dir, 'empty'), { recursive: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a run directory means its latest checkpoint, labelled by the run', async () => {
    assert.deepEqual(await findCheckpoint(run()), { dir: join(run(), 'checkpoints', 'latest'), label: 'awnet' });
    assert.deepEqual(await findCheckpoint(join(run(), 'checkpoints', 'latest')), { dir: join(run(), 'checkpoints', 'latest'), label: 'awnet' });
  });

  it('a checkpoint directory is itself; one inside a run is labelled run/checkpoint', async () => {
    assert.deepEqual(await findCheckpoint(join(run(), 'checkpoints', 'best')), { dir: join(run(), 'checkpoints', 'best'), label: 'awnet/best' });
    assert.deepEqual(await findCheckpoint(join(dir, 'plain')), { dir: join(dir, 'plain'), label: 'plain' });
    assert.equal(checkpointLabel('runs/static/checkpoints/epoch-003'), 'static/epoch-003');
    assert.equal(checkpointLabel('runs/static/checkpoints/latest/'), 'static');
  });

  it('a path that is neither is kept for the loader to report, or refused by export', async () => {
    assert.equal(await findCheckpoint(join(dir, 'empty')), null);
    assert.deepEqual(await checkpointOrSelf(join(dir, 'empty')), { dir: join(dir, 'empty'), label: 'empty' });
    assert.deepEqual(await checkpointOrSelf(join(dir, 'nope')), { dir: join(dir, 'nope'), label: 'nope' });
    assert.deepEqual(await existingCheckpoint(join(dir, 'empty')), { dir: join(dir, 'empty'), label: 'empty' });
    await assert.rejects(resolveCheckpointDir(join(dir, 'empty')), /is not a checkpoint: it holds no checkpoint\.json \(nor checkpoints\/latest\/checkpoint\.json/);
  });

  it('a path that does not exist is refused with the command that would create the run', async () => {
    await assert.rejects(existingCheckpoint(join(dir, 'nope')), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CHECKPOINT_MISSING');
      assert.match(error.message, new RegExp(`${join(dir, 'nope')} does not exist: .*\`npm run awnet -- train --out ${join(dir, 'nope')}\` creates the run`));
      return true;
    });
    assert.equal(trainCommandFor('runs/static'), 'npm run awnet -- train --variant static --out runs/static');
    assert.equal(trainCommandFor('runs/awnet/'), 'npm run awnet -- train --variant awnet --out runs/awnet/');
    assert.equal(trainCommandFor('runs/mine'), 'npm run awnet -- train --out runs/mine');
    await assert.rejects(resolveCheckpointDir(join(dir, 'static')), /static does not exist; .*\(`npm run awnet -- train --variant static --out .*static` creates one\)/);
  });

  it('export and evaluate resolve a run directory to the same checkpoint', async () => {
    assert.equal(await resolveCheckpointDir(run()), (await checkpointOrSelf(run())).dir);
  });
});
