import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { buildConfig, createModel } from '../../src/model/index.js';
import type { EvaluationReport } from '../../src/eval/report.js';
import { HANG_GUARD_MS, onCore } from '../core-pool.js';

const run = promisify(execFile);

/** dist/src/cli/index.js, found from this file's place in dist/test/eval/. */
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'index.js');

/** A small AW-Net or static baseline (fmnist-tiny layout, narrower), saved as a checkpoint. */
async function tinyCheckpoint(dir: string, variant: 'awnet' | 'static', seed: number): Promise<void> {
  const narrow = { stem: 4, widths: [4, 8], blocks: [1, 1], strides: [1, 2] };
  const model = createModel(buildConfig('fmnist-tiny', variant, { main: narrow, router: narrow }), seed);
  await saveCheckpoint(dir, { model, epoch: 1 });
  model.dispose();
}

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One `awnet evaluate` run to its exit, when a core is free of the file's other runs. */
function evaluate(args: readonly string[]): Promise<CliResult> {
  return onCore(async () => {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, 'evaluate', ...args], {
        env: { ...process.env, AWNET_TF_BACKEND: 'wasm' },
        timeout: HANG_GUARD_MS,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  });
}

// Each test runs its own CLI processes on the shared checkpoints, which none of them writes, and
// waits only for their exit: the tests, and the runs within one, go side by side, one per core.
describe('awnet evaluate (end to end)', { concurrency: true }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'awnet-evaluate-'));
    await tinyCheckpoint(join(dir, 'awnet-ckpt'), 'awnet', 1);
    await tinyCheckpoint(join(dir, 'static-ckpt'), 'static', 2);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('evaluates two checkpoints side by side: table on stdout, JSON report, SVG and PNG curve', async () => {
    const out = join(dir, 'reports', 'eval.json');
    const r = await evaluate([
      join(dir, 'awnet-ckpt'),
      join(dir, 'static-ckpt'),
      '--limit', '24',
      '--batch-size', '16',
      '--curve-eps', '0,0.05,0.1',
      '--curve-steps', '2',
      '--seed', '9',
      '--calibration-size', '64',
      '--out', out,
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /tfjs backend: wasm/);
    assert.match(r.stderr, /awnet-ckpt: flagging threshold [0-9.]+, calibrated for FPR 0\.01 on 64 clean fashion-mnist images/);
    assert.match(r.stderr, /static-ckpt: flagging threshold none: no router/);

    const report = JSON.parse(await readFile(out, 'utf8')) as EvaluationReport;
    assert.equal(report.dataset, 'fashion-mnist');
    assert.equal(report.count, 24);
    assert.equal(report.attackCount, 24);
    assert.equal(report.eps, 0.1, 'Fashion-MNIST defaults to eps 0.1');
    assert.equal(report.seed, 9);
    assert.equal(report.backend, 'wasm');
    assert.deepEqual(report.models.map((m) => [m.name, m.variant]), [['awnet-ckpt', 'awnet'], ['static-ckpt', 'static']]);
    const [awnet, stat] = report.models;
    assert.ok(awnet && stat);
    for (const m of report.models) {
      assert.deepEqual(m.attacks.map((a) => a.id), ['fgsm', 'pgd20-s4', 'pgd20-s10', 'cw30', 'adaptive']);
      const pgd10 = m.attacks.find((a) => a.id === 'pgd20-s10');
      assert.deepEqual(pgd10?.params, { kind: 'pgd', eps: 0.1, steps: 20, stepSize: 0.01, randomStart: true, loss: 'ce' });
      for (const a of m.attacks) assert.equal(a.wRobust, (m.cleanAccuracy + a.accuracy) / 2);
      assert.deepEqual(m.curve.map((p) => p.eps), [0, 0.05, 0.1]);
      assert.equal(m.curve[0]?.accuracy, m.cleanAccuracy);
    }
    for (const a of awnet.attacks) assert.ok(a.auc !== null && a.auc >= 0 && a.auc <= 1, `${a.id} AUC ${a.auc}`);
    for (const a of stat.attacks) assert.equal(a.auc, null);
    assert.deepEqual([awnet.threshold.source, awnet.threshold.calibrationImages, awnet.threshold.targetFpr], ['calibrated', 64, 0.01]);
    assert.deepEqual([stat.threshold.source, stat.threshold.value], ['no-router', 0]);
    for (const m of report.models) {
      assert.equal(m.benign.length, 8, 'every benign change by default');
      assert.deepEqual(m.worstCase?.attacks, m.attacks.map((a) => a.id));
      for (const a of m.attacks) assert.ok((m.worstCase?.accuracy ?? 1) <= a.accuracy, `worst case above ${a.id}`);
    }
    for (const a of stat.attacks) assert.deepEqual([a.flagRate, a.getsThrough], [0, 1 - a.accuracy]);
    assert.ok(r.stdout.includes('Benign changes, 24 images:') && r.stdout.includes('Clean flag'));

    const lines = r.stdout.split('\n');
    assert.ok(lines.some((l) => l.startsWith('awnet-ckpt')) && lines.some((l) => l.startsWith('static-ckpt')));
    assert.ok(r.stdout.includes('Router ROC-AUC') && r.stdout.includes('Accuracy vs eps (PGD-2 ε/4)'));
    const awnetRow = lines.find((l) => l.startsWith('awnet-ckpt'));
    assert.equal(awnetRow?.trim().split(/\s+/)[1], (awnet.cleanAccuracy * 100).toFixed(2));

    const svg = await readFile(join(dir, 'reports', 'eval-curve.svg'), 'utf8');
    assert.match(svg, /^<svg /);
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    const png = await readFile(join(dir, 'reports', 'eval-curve.png'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.length > 1000);
    assert.deepEqual((await readdir(join(dir, 'reports'))).sort(), ['eval-curve.png', 'eval-curve.svg', 'eval.json']);
  });

  it('gives the same figures with two worker threads as in one process, and attacks only the first images when asked', async () => {
    const args = (out: string, workers: string, limits: string[]): string[] => [
      join(dir, 'awnet-ckpt'),
      ...limits,
      '--batch-size', '4',
      '--attacks', 'fgsm,pgd20-s4,adaptive',
      '--adaptive-lambda', '1,10',
      '--worst-case', 'pgd20-s4,adaptive',
      '--benign', 'uniform-eps,jpeg-40',
      '--calibration-size', '32',
      '--curve-eps', '0,0.1',
      '--curve-steps', '2',
      '--workers', workers,
      '--out', out,
      '--no-progress',
    ];
    const single = join(dir, 'single.json');
    const parallel = join(dir, 'parallel.json');
    const small = join(dir, 'small.json');
    const [a, b, c] = await Promise.all([
      evaluate(args(single, '1', ['--limit', '12', '--attack-limit', '6'])),
      evaluate(args(parallel, '2', ['--limit', '12', '--attack-limit', '6'])),
      evaluate(args(small, '1', ['--limit', '6'])),
    ]);
    for (const r of [a, b, c]) assert.equal(r.code, 0, r.stderr);
    assert.match(a.stderr, /on 12 fashion-mnist test images \(attacks on the first 6\)/);
    assert.match(b.stderr, /2 worker threads/);
    const read = async (file: string): Promise<EvaluationReport> => JSON.parse(await readFile(file, 'utf8')) as EvaluationReport;
    const figures = (report: EvaluationReport): unknown =>
      report.models.map(({ seconds: _s, attacks, ...m }) => ({
        ...m,
        attacks: attacks.map(({ seconds: _t, ...rest }) => rest),
      }));
    const [one, two, six] = [await read(single), await read(parallel), await read(small)];
    assert.deepEqual(figures(two), figures(one));
    assert.deepEqual([one.count, one.attackCount], [12, 6]);
    const m = one.models[0];
    assert.ok(m);
    assert.deepEqual(m.attacks.map((x) => x.id), ['fgsm', 'pgd20-s4', 'adaptive-l1', 'adaptive-l10']);
    assert.deepEqual(m.attacks.slice(2).map((x) => x.params.lambda), [1, 10]);
    assert.deepEqual(m.worstCase?.attacks, ['pgd20-s4', 'adaptive-l1', 'adaptive-l10']);
    assert.deepEqual(m.benign.map((x) => x.id), ['uniform-eps', 'jpeg-40']);
    // The attacked images are the first six, attacked exactly as a run on those six alone attacks them.
    const attacked = (report: EvaluationReport): unknown => {
      const [first] = figures(report) as { attacks: unknown; worstCase: unknown; attackedCleanAccuracy: number; curve: unknown }[];
      return first && [first.attacks, first.worstCase, first.attackedCleanAccuracy, first.curve];
    };
    assert.deepEqual(attacked(one), attacked(six));
    assert.equal(six.models[0]?.cleanAccuracy, m.attackedCleanAccuracy);
  });

  it('names a missing checkpoint clearly, exits 1 and writes nothing', async () => {
    const out = join(dir, 'missing.json');
    const [r, missingStatic] = await Promise.all([
      evaluate([join(dir, 'no-such-checkpoint'), '--limit', '4', '--out', out, '--no-progress']),
      evaluate([join(dir, 'static'), '--limit', '4', '--no-progress']),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /awnet evaluate: .*no-such-checkpoint does not exist: neither a checkpoint nor a training run; `npm run awnet -- train --out .*no-such-checkpoint` creates the run .*\[CHECKPOINT_MISSING\]/);
    assert.equal(missingStatic.code, 1);
    assert.match(missingStatic.stderr, /`npm run awnet -- train --variant static --out .*static` creates the run/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a known failure');
    assert.equal(existsSync(out), false);
  });

  it('rejects a directory that is not a checkpoint and bad option values', async () => {
    const [notCkpt, badAttack, badEps, badLambda, badWorst, badThreshold, badDataset] = await Promise.all([
      evaluate([dir, '--limit', '4', '--no-progress']),
      evaluate([join(dir, 'static-ckpt'), '--attacks', 'pgd20-s4,deepfool', '--no-progress']),
      evaluate([join(dir, 'static-ckpt'), '--eps', '1.5']),
      evaluate([join(dir, 'static-ckpt'), '--adaptive-lambda', '1,,10']),
      evaluate([join(dir, 'static-ckpt'), '--attacks', 'fgsm', '--worst-case', 'target', '--no-progress']),
      evaluate([join(dir, 'static-ckpt'), '--threshold', '1.5']),
      evaluate([join(dir, 'static-ckpt'), '--dataset', 'mnist']),
    ]);
    assert.equal(notCkpt.code, 1);
    assert.match(notCkpt.stderr, /checkpoint\.json is missing.*\[CHECKPOINT_MISSING\]/);

    assert.equal(badAttack.code, 1);
    assert.match(badAttack.stderr, /unknown attack "deepfool".*\[EVAL_BAD_OPTION\]/);

    assert.equal(badEps.code, 1);
    assert.match(badEps.stderr, /^awnet evaluate: option '--eps <eps>' argument '1\.5' is invalid\. Expected a number in \[1e-9, 1\]\. \[CLI_BAD_USAGE\]$/m);

    assert.equal(badLambda.code, 1);
    assert.match(badLambda.stderr, /adaptive λ list "1,,10" has an empty item/);

    assert.equal(badWorst.code, 1);
    assert.match(badWorst.stderr, /unknown attack "pgd20-s4", "cw30", "adaptive"; valid attacks: fgsm.*\[EVAL_BAD_OPTION\]/);

    assert.equal(badThreshold.code, 1);
    assert.match(badThreshold.stderr, /a threshold must be a number in \[0, 1\]; got 1\.5/);

    assert.equal(badDataset.code, 1);
    assert.match(badDataset.stderr, /unknown dataset "mnist"/);
  });

  it('reports a dataset that does not fit the model', async () => {
    const r = await evaluate([join(dir, 'static-ckpt'), '--dataset', 'cifar10', '--data-dir', dir, '--no-progress']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cifar10 images are 32×32×3 but the model expects 28×28×1.*\[DATA_BAD_SHAPE\]/);
  });
});
