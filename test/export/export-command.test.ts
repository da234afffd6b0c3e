import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { gatherBatch, splitTrainVal } from '../../src/data/split.js';
import { buildConfig, createModel, loadCheckpoint, saveCheckpoint } from '../../src/model/index.js';
import type { Variant } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';
import { exportCheckpoint, type ExportOptions } from '../../export/export-checkpoint.js';
import { METADATA_KEY, parseMetadata } from '../../src/contract/model-contract.js';
import { decodeModel } from '../../export/onnx-graph.js';
import { argmaxRows, maxAbsDiff, onnxSession, runOnnx, runTf } from './helpers.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = join(root, 'dist/src/cli/index.js');
const small = { main: { stem: 4, widths: [4, 8] }, router: { stem: 4, widths: [4, 8] } };

let work: string;

/** A checkpoint written the way the train command writes one (its settings in trainerState). */
async function makeCheckpoint(dir: string, variant: Variant, settings: Record<string, unknown> = {}, withSettings = true): Promise<string> {
  const model = createModel(buildConfig('fmnist-tiny', variant, small), 7);
  try {
    await saveCheckpoint(dir, {
      model,
      epoch: 1,
      step: 3,
      trainerState: withSettings
        ? { settings: { dataset: 'fashion-mnist', dataDir: null, limit: 300, skipCorrupt: false, valSize: 100, seed: 5, eps: 0.1, attackSteps: 3, ...settings } }
        : null,
    } as Parameters<typeof saveCheckpoint>[1]);
  } finally {
    model.dispose();
  }
  return dir;
}

async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

before(async () => {
  await initBackend({ backend: 'wasm', log: () => undefined });
  work = await mkdtemp(join(tmpdir(), 'awnet-export-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the export command on a run of the train command', () => {
  test('writes an ONNX model and sidecar whose outputs, threshold and metadata are right', async () => {
    const runDir = join(work, 'run');
    const models = join(work, 'models');
    await mkdir(models);
    await run(process.execPath, [
      cli, 'train', '--preset', 'fmnist-tiny', '--variant', 'awnet', '--limit', '320', '--val-size', '96',
      '--val-pgd-size', '0', '--epochs', '1', '--batch-size', '32', '--attack-steps', '1', '--seed', '4',
      '--backend', 'wasm', '--stem', '4', '--widths', '4,8', '--router-stem', '4', '--router-widths', '4,8', '--out', runDir,
    ]);
    const out = join(models, 'tiny-awnet.onnx');
    const { stdout } = await run(process.execPath, [
      cli, 'export', '--checkpoint', runDir, '--out', out, '--version', '2.1.0', '--fpr', '0.05', '--backend', 'wasm', '--expect-preset', 'fmnist-tiny',
    ]);
    assert.match(stdout, /threshold .* for FPR 0.05/);
    assert.deepEqual(await filesIn(models), ['tiny-awnet.json', 'tiny-awnet.onnx']);

    const bytes = await readFile(out);
    const embedded = decodeModel(bytes).metadataProps.find((p) => p.key === METADATA_KEY)?.value;
    const meta = parseMetadata(embedded!);
    assert.deepEqual(JSON.parse(await readFile(join(models, 'tiny-awnet.json'), 'utf8')), meta, 'the sidecar repeats the metadata');
    assert.equal(meta.name, 'tiny-awnet');
    assert.equal(meta.version, '2.1.0');
    assert.equal(meta.dataset, 'fashion-mnist');
    assert.equal(meta.labels.length, 10);
    assert.equal(meta.labels[9], 'Ankle boot');
    assert.deepEqual(meta.input, { channels: 1, height: 28, width: 28 });
    assert.deepEqual(meta.trainingAttack, { norm: 'linf', eps: 0.1, steps: 1, name: 'pgd' });
    assert.equal(meta.variant, 'awnet');
    assert.equal(meta.router, true);
    assert.equal(meta.threshold.targetFpr, 0.05);
    assert.equal(meta.threshold.calibrationImages, 96);

    // The same clean validation images the run held out, through the exported file.
    const all = await loadFashionMnist({ split: 'train', limit: 320 });
    const { val } = splitTrainVal(all.count, 96, 4);
    const batch = gatherBatch(all, val);
    const session = await onnxSession(bytes);
    const onnx = await runOnnx(session, batch.images, batch.count, meta.input, 32);
    await session.release();
    const above = onnx.score.filter((s) => s > meta.threshold.value).length;
    assert.ok(above / batch.count <= 0.05, `${above} of ${batch.count} clean validation images flagged`);
    assert.equal(above / batch.count, meta.threshold.observedFpr);

    // And the file agrees with the checkpoint run in tfjs.
    const loaded = await loadCheckpoint(join(runDir, 'checkpoints', 'latest'));
    try {
      const ref = runTf(loaded.model, batch.images, batch.count);
      assert.ok(maxAbsDiff(onnx.probabilities, ref.probabilities) <= 1e-4);
      assert.ok(maxAbsDiff(onnx.score, ref.score) <= 1e-4);
      assert.deepEqual(argmaxRows(onnx.probabilities, 10), argmaxRows(ref.probabilities, 10));
    } finally {
      loaded.model.dispose();
    }
  });

  test('prints a coded error and exits 1 for a checkpoint that does not exist', async () => {
    const missing = join(work, 'no-such-run');
    await assert.rejects(run(process.execPath, [cli, 'export', '--checkpoint', missing, '--out', join(work, 'x.onnx')]), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /^awnet export: checkpoint .*no-such-run does not exist[\s\S]*\[EXPORT_CHECKPOINT_NOT_FOUND\]/m);
      return true;
    });
  });
});

describe('exportCheckpoint', () => {
  const options = (checkpoint: string, out: string, extra: Partial<ExportOptions> = {}): ExportOptions => ({ checkpoint, out, ...extra });

  test('the static baseline: router false, score always 0, threshold 0', async () => {
    const ckpt = await makeCheckpoint(join(work, 'static-ckpt'), 'static');
    const out = join(work, 'static.onnx');
    const result = await exportCheckpoint(options(ckpt, out, { calibrationSize: 40 }));
    assert.equal(result.metadata.router, false);
    assert.equal(result.metadata.threshold.value, 0);
    assert.equal(result.metadata.threshold.observedFpr, 0);
    assert.equal(result.metadata.threshold.calibrationImages, 40);
    const session = await onnxSession(await readFile(out));
    const r = await runOnnx(session, new Float32Array(3 * 784).fill(0.5), 3, result.metadata.input, 3);
    await session.release();
    assert.deepEqual([...r.score], [0, 0, 0]);
  });

  test('evaluation figures from an evaluate report are stored for the matching model', async () => {
    const ckpt = await makeCheckpoint(join(work, 'eval-ckpt'), 'awnet');
    const report = join(work, 'evaluation.json');
    const entry = (name: string, checkpoint: string, variant: string) => ({
      name,
      checkpoint,
      preset: 'fmnist-tiny',
      variant,
      cleanAccuracy: name === 'a' ? 0.9 : 0.8,
      attacks: [{ id: 'pgd20', accuracy: 0.6, wRobust: 0.75, auc: 0.97 }],
    });
    await writeFile(report, JSON.stringify({ dataset: 'fashion-mnist', split: 'test', count: 10000, eps: 0.1, models: [entry('b', '/elsewhere', 'static'), entry('a', ckpt, 'awnet')] }));
    const result = await exportCheckpoint(options(ckpt, join(work, 'eval.onnx'), { evaluation: report, calibrationSize: 20 }));
    const evaluation = result.metadata.evaluation as { eps: number; model: { name: string; cleanAccuracy: number } };
    assert.equal(evaluation.eps, 0.1);
    assert.equal(evaluation.model.name, 'a');
    assert.equal(evaluation.model.cleanAccuracy, 0.9);

    await writeFile(report, '{"models": [');
    await assert.rejects(exportCheckpoint(options(ckpt, join(work, 'eval2.onnx'), { evaluation: report })), {
      code: 'EXPORT_BAD_EVALUATION',
      message: /not valid JSON/,
    });
    await writeFile(report, JSON.stringify({ models: [entry('b', '/elsewhere', 'static')] }));
    await assert.rejects(exportCheckpoint(options(ckpt, join(work, 'eval3.onnx'), { evaluation: report })), {
      code: 'EXPORT_BAD_EVALUATION',
      message: /--evaluation-model/,
    });
  });

  test('bad checkpoint paths give clear errors', async () => {
    const out = join(work, 'bad.onnx');
    await assert.rejects(exportCheckpoint(options(join(work, 'absent'), out)), {
      code: 'EXPORT_CHECKPOINT_NOT_FOUND',
      message: /absent does not exist/,
    });
    const empty = join(work, 'empty-dir');
    await mkdir(empty);
    await assert.rejects(exportCheckpoint(options(empty, out)), { code: 'EXPORT_CHECKPOINT_NOT_FOUND', message: /holds no checkpoint.json/ });

    const broken = await makeCheckpoint(join(work, 'broken'), 'awnet');
    await writeFile(join(broken, 'checkpoint.json'), '{ not json');
    await assert.rejects(exportCheckpoint(options(broken, out)), { code: 'EXPORT_CHECKPOINT_INVALID', message: /not valid JSON/ });

    const truncated = await makeCheckpoint(join(work, 'truncated'), 'awnet');
    const weights = await readFile(join(truncated, 'weights.bin'));
    await writeFile(join(truncated, 'weights.bin'), weights.subarray(0, 100));
    await assert.rejects(exportCheckpoint(options(truncated, out)), { code: 'EXPORT_CHECKPOINT_INVALID', message: /truncated/ });
    assert.deepEqual((await filesIn(work)).filter((f) => f.startsWith('bad') || f.includes('.tmp')), []);
  });

  test('a preset or variant other than expected is refused', async () => {
    const ckpt = await makeCheckpoint(join(work, 'mismatch'), 'dynamic-only');
    const out = join(work, 'mismatch.onnx');
    await assert.rejects(exportCheckpoint(options(ckpt, out, { expectPreset: 'cifar10-resnet18' })), {
      code: 'EXPORT_PRESET_MISMATCH',
      message: /holds preset "fmnist-tiny" \(dynamic-only\), but --expect-preset is "cifar10-resnet18"/,
    });
    await assert.rejects(exportCheckpoint(options(ckpt, out, { expectVariant: 'awnet' })), { code: 'EXPORT_PRESET_MISMATCH', message: /variant "dynamic-only"/ });
  });

  test('an unwritable output is refused before any work, and a failed export leaves no file behind', async () => {
    const ckpt = await makeCheckpoint(join(work, 'out-ckpt'), 'awnet');
    await assert.rejects(exportCheckpoint(options(ckpt, join(work, 'missing-dir', 'm.onnx'))), {
      code: 'EXPORT_OUTPUT_UNWRITABLE',
      message: /missing-dir does not exist/,
    });
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(exportCheckpoint(options(ckpt, join(file, 'm.onnx'))), { code: 'EXPORT_OUTPUT_UNWRITABLE', message: /not a directory/ });
    const target = join(work, 'target');
    await mkdir(join(target, 'm.onnx'), { recursive: true });
    await assert.rejects(exportCheckpoint(options(ckpt, join(target, 'm.onnx'))), { code: 'EXPORT_OUTPUT_UNWRITABLE', message: /in the way/ });
    await mkdir(join(target, 'n.json'));
    await assert.rejects(exportCheckpoint(options(ckpt, join(target, 'n.onnx'))), { code: 'EXPORT_OUTPUT_UNWRITABLE', message: /sidecar/ });
    assert.deepEqual(await filesIn(target), ['m.onnx', 'n.json']);

    // Calibration fails after the model is loaded: nothing may appear in the output directory.
    const outDir = join(work, 'clean-out');
    await mkdir(outDir);
    await assert.rejects(exportCheckpoint(options(ckpt, join(outDir, 'm.onnx'), { dataDir: join(work, 'no-data') })), {
      code: 'EXPORT_CALIBRATION_FAILED',
      message: /no-data/,
    });
    assert.deepEqual(await filesIn(outDir), []);
  });

  test('bad options give coded errors naming the value', async () => {
    const ckpt = await makeCheckpoint(join(work, 'opt-ckpt'), 'awnet');
    const out = join(work, 'opt.onnx');
    await assert.rejects(exportCheckpoint(options(ckpt, out, { fpr: 1.5 })), { code: 'EXPORT_BAD_OPTION', message: /--fpr 1.5/ });
    await assert.rejects(exportCheckpoint(options(ckpt, join(work, 'model.bin'))), { code: 'EXPORT_BAD_OPTION', message: /\.onnx/ });
    await assert.rejects(exportCheckpoint(options(ckpt, out, { calibrationSize: 0 })), { code: 'EXPORT_BAD_OPTION', message: /--calibration-size 0/ });
    await assert.rejects(exportCheckpoint(options(ckpt, out, { opset: 13 })), { code: 'EXPORT_BAD_OPTION', message: /opset/ });
    await assert.rejects(exportCheckpoint(options(ckpt, out, { dataset: 'mnist' })), { code: 'EXPORT_BAD_OPTION', message: /unknown dataset "mnist"/ });

    const bare = await makeCheckpoint(join(work, 'bare-ckpt'), 'awnet', {}, false);
    await assert.rejects(exportCheckpoint(options(bare, out)), { code: 'EXPORT_BAD_OPTION', message: /--attack-eps/ });
    await assert.rejects(exportCheckpoint(options(bare, out, { attackEps: 0.1, attackSteps: 10 })), { code: 'EXPORT_BAD_OPTION', message: /--dataset/ });
    const result = await exportCheckpoint(options(bare, out, { attackEps: 0.1, attackSteps: 10, dataset: 'fashion-mnist', valSize: 50, splitSeed: 2 }));
    assert.equal(result.metadata.threshold.calibrationImages, 50);
    assert.deepEqual(result.metadata.trainingAttack, { norm: 'linf', eps: 0.1, steps: 10 });
  });
});
