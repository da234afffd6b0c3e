import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { buildConfig, createModel } from '../../src/model/index.js';
import type { EvaluationReport } from '../../src/eval/report.js';
import { HANG_GUARD_MS } from '../core-pool.js';

const run = promisify(execFile);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'index.js');

/** `evaluate --attacks aa-fast` end to end, in one process and on two worker threads. */
describe('awnet evaluate --attacks aa-fast', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'awnet-autoattack-'));
    const narrow = { stem: 4, widths: [4, 8], blocks: [1, 1], strides: [1, 2] };
    const model = createModel(buildConfig('fmnist-tiny', 'awnet', { main: narrow, router: narrow }), 3);
    await saveCheckpoint(join(dir, 'ckpt'), { model, epoch: 1 });
    model.dispose();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reports the cascade with the same figures on one thread and on two, and says so in --help', async () => {
    const evaluate = async (workers: string): Promise<{ stdout: string; report: EvaluationReport }> => {
      const out = join(dir, `w${workers}.json`);
      const args = [CLI, 'evaluate', join(dir, 'ckpt'), '--limit', '6', '--batch-size', '3', '--attacks', 'aa-fast', '--threshold', '0.5', '--no-benign', '--no-curve', '--no-progress', '--workers', workers, '--out', out];
      const { stdout } = await run(process.execPath, args, { env: { ...process.env, AWNET_TF_BACKEND: 'wasm' }, timeout: HANG_GUARD_MS });
      return { stdout, report: JSON.parse(await readFile(out, 'utf8')) as EvaluationReport };
    };
    // Separate outputs, the same read-only checkpoint: the two runs go side by side.
    const [one, two] = await Promise.all([evaluate('1'), evaluate('2')]);
    const figures = (r: EvaluationReport): unknown =>
      r.models[0]?.attacks.map((a) => ({ id: a.id, accuracy: a.accuracy, auc: a.auc, parts: a.parts?.map(({ seconds: _s, ...p }) => p) }));
    assert.deepEqual(figures(two.report), figures(one.report));
    const aa = one.report.models[0]?.attacks[0];
    assert.equal(aa?.params.version, 'fast');
    assert.deepEqual(aa?.parts?.map((p) => p.id), ['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    assert.equal(aa?.parts?.[0]?.attacked, Math.round((one.report.models[0]?.attackedCleanAccuracy ?? NaN) * 6), 'APGD-CE gets the images right when clean');
    assert.match(one.stdout, /AutoAttack \(fast\): robust accuracy after each part/);
    const help = await run(process.execPath, [CLI, 'evaluate', '--help']);
    assert.match(help.stdout.replace(/\s+/g, ' '), /autoattack-fast: the same with 20 iterations, 3 APGD-T and 3 FAB-T targets, 20 FAB iterations and 1000 Square queries/);
  });
});
