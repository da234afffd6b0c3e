import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportCheckpoint, type ExportOptions } from '../../export/export-checkpoint.js';
import { runEvaluation, type RunEvaluationOptions } from '../../src/eval/run-evaluation.js';
import type { ThresholdReport } from '../../src/eval/report.js';
import { parseThresholdChoice } from '../../src/eval/threshold.js';
import { buildConfig, createModel, saveCheckpoint } from '../../src/model/index.js';
import type { Variant } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';

const small = { main: { stem: 4, widths: [4, 8] }, router: { stem: 4, widths: [4, 8] } };
const quiet = (): void => undefined;

/** A checkpoint as the train command writes one, its run's settings in trainerState (or none). */
async function checkpoint(dir: string, variant: Variant, settings: Record<string, unknown> | null): Promise<string> {
  const model = createModel(buildConfig('fmnist-tiny', variant, small), 7);
  try {
    await saveCheckpoint(dir, { model, epoch: 1, step: 3, trainerState: settings === null ? null : { settings } } as Parameters<
      typeof saveCheckpoint
    >[1]);
  } finally {
    model.dispose();
  }
  return dir;
}

/** The threshold `evaluate` reports for one checkpoint; no attack or benign change runs. */
async function evaluatedThreshold(ckpt: string, extra: Partial<RunEvaluationOptions> = {}): Promise<ThresholdReport> {
  const { report } = await runEvaluation({
    checkpoints: [ckpt],
    dataset: 'fashion-mnist',
    limit: 4,
    batchSize: 4,
    seed: 0,
    attacks: [],
    benign: false,
    curveEps: [],
    log: quiet,
    ...extra,
  });
  const t = report.models[0]?.threshold;
  assert.ok(t);
  return t;
}

async function exported(ckpt: string, out: string, extra: Partial<ExportOptions> = {}): Promise<ThresholdReport & { file: string }> {
  const result = await exportCheckpoint({ checkpoint: ckpt, out, attackEps: 0.1, attackSteps: 3, log: quiet, ...extra });
  const t = result.metadata.threshold;
  return { ...t, source: 'exported-model', calibrationDataset: result.metadata.dataset, file: out };
}

describe('the flagging threshold of evaluate is the one export ships', () => {
  let work: string;
  const run = { dataset: 'fashion-mnist', dataDir: null, limit: 300, skipCorrupt: false, valSize: 100, seed: 5, eps: 0.1, attackSteps: 3 };
  before(async () => {
    await initBackend({ backend: 'wasm', log: quiet });
    work = await mkdtemp(join(tmpdir(), 'awnet-eval-threshold-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('calibrates on the run\'s held-out clean images with the same FPR rule', async () => {
    const ckpt = await checkpoint(join(work, 'awnet'), 'awnet', run);
    const shipped = await exported(ckpt, join(work, 'awnet.onnx'), { fpr: 0.05 });
    const t = await evaluatedThreshold(ckpt, { fpr: 0.05 });
    assert.equal(t.source, 'calibrated');
    assert.deepEqual(
      [t.value, t.targetFpr, t.observedFpr, t.calibrationImages, t.calibrationDataset, t.calibrationSplit],
      [shipped.value, 0.05, shipped.observedFpr, 100, 'fashion-mnist', shipped.calibrationSplit],
    );
    assert.match(t.calibrationSplit ?? '', /validation: 100 of 100 held out, seed 5/);

    // The exported model (or its sidecar) gives the same value, and says where it came from.
    for (const file of [join(work, 'awnet.onnx'), join(work, 'awnet.json')]) {
      const fromFile = await evaluatedThreshold(ckpt, { thresholds: [parseThresholdChoice(file)] });
      assert.deepEqual({ ...fromFile }, { ...shipped, file });
    }
    const given = await evaluatedThreshold(ckpt, { thresholds: [parseThresholdChoice('0.25')] });
    assert.deepEqual([given.value, given.source], [0.25, 'given']);
  });

  it('calibrates a checkpoint that records no run as `export --dataset` would, overrides included', async () => {
    const ckpt = await checkpoint(join(work, 'bare'), 'awnet', null);
    const overrides = { valSize: 300, splitSeed: 3, calibrationSize: 120 };
    const shipped = await exported(ckpt, join(work, 'bare.onnx'), { dataset: 'fashion-mnist', ...overrides });
    const t = await evaluatedThreshold(ckpt, overrides);
    assert.deepEqual([t.value, t.observedFpr, t.calibrationImages, t.calibrationSplit], [shipped.value, shipped.observedFpr, 120, shipped.calibrationSplit]);
    assert.equal(t.targetFpr, 0.01, 'the default FPR is export\'s 1 %');
  });

  it('gives a model without a router no flag (threshold 0, as export writes) and rejects a mismatched model file', async () => {
    const ckpt = await checkpoint(join(work, 'static'), 'static', run);
    const shipped = await exported(ckpt, join(work, 'static.onnx'));
    const t = await evaluatedThreshold(ckpt);
    assert.deepEqual([t.source, t.value], ['no-router', shipped.value]);
    await assert.rejects(evaluatedThreshold(ckpt, { thresholds: [join(work, 'awnet.onnx')] }), {
      code: 'EVAL_MODEL_MISMATCH',
      message: /holds a fmnist-tiny awnet model, not fmnist-tiny static/,
    });
    await assert.rejects(evaluatedThreshold(ckpt, { thresholds: [join(work, 'nothing.onnx')] }), { code: 'EVAL_BAD_INPUT' });
    await assert.rejects(evaluatedThreshold(ckpt, { thresholds: [0.1, 0.2] }), { code: 'EVAL_BAD_OPTION', message: /2 thresholds given for 1 checkpoints/ });
    await assert.rejects(evaluatedThreshold(ckpt, { fpr: 1 }), { code: 'EVAL_BAD_OPTION' });
    assert.throws(() => parseThresholdChoice('1.5'), { code: 'EVAL_BAD_OPTION' });
  });
});
