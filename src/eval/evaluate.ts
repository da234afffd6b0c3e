import { holdOf } from '../model/router-hold.js';
import type { Model } from '../model/types.js';
import type { AttackSpec } from './attack-suite.js';
import { attackRowsOf, batchRange, planStages, planUnits, runBatch } from './batch-runner.js';
import type { BenignSetting } from './benign.js';
import { EvalError } from './errors.js';
import type { EvaluationReport, ModelReport, ThresholdReport } from './report.js';
import { assembleReport, ModelOutputs } from './summarise.js';

/** A test set as the data module loads it: NHWC pixels in [0, 1], integer labels. */
export interface EvalDataset {
  readonly name: string;
  readonly split: string;
  readonly shape: { readonly height: number; readonly width: number; readonly channels: number };
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly labelNames: readonly string[];
}

export interface EvalModel {
  readonly name: string;
  readonly checkpoint: string;
  readonly model: Model;
  /** The flagging threshold its flag rates and "gets through" figures use. */
  readonly threshold: ThresholdReport;
}

export interface ProgressEvent {
  readonly done: number;
  readonly total: number;
  readonly model: string;
  readonly stage: string;
}

export interface EvaluateOptions {
  readonly eps: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly attacks: readonly AttackSpec[];
  /** Attack (and curve) only the first n images; default all. Clean and benign passes cover all. */
  readonly attackCount?: number;
  /** Benign changes measured on all images; default none. */
  readonly benign?: readonly BenignSetting[];
  /** Attack ids the worst case spans; default every attack. */
  readonly worstCase?: readonly string[];
  /** Eps values of the robustness curve; empty for none. */
  readonly curveEps: readonly number[];
  readonly curveSteps: number;
  /** Name of the tfjs backend in use, for the report. */
  readonly backend: string;
  readonly onProgress?: (event: ProgressEvent) => void;
}

export function checkCompatible(entry: Pick<EvalModel, 'checkpoint' | 'model'>, data: EvalDataset): void {
  const { input, numClasses } = entry.model.config;
  const { height, width, channels } = data.shape;
  if (input.height !== height || input.width !== width || input.channels !== channels) {
    throw new EvalError(
      'EVAL_MODEL_MISMATCH',
      `${entry.checkpoint} expects ${input.height}×${input.width}×${input.channels} images but ${data.name} has ${height}×${width}×${channels}`,
    );
  }
  if (numClasses !== data.labelNames.length) {
    throw new EvalError(
      'EVAL_MODEL_MISMATCH',
      `${entry.checkpoint} has ${numClasses} classes but ${data.name} has ${data.labelNames.length}`,
    );
  }
}

export function checkOptions(options: EvaluateOptions, data: EvalDataset): void {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new EvalError('EVAL_BAD_OPTION', `batch size must be an integer >= 1; got ${options.batchSize}`);
  }
  if (!Number.isFinite(options.eps) || options.eps <= 0 || options.eps > 1) {
    throw new EvalError('EVAL_BAD_OPTION', `eps must be in (0, 1]; got ${options.eps}`);
  }
  for (const e of options.curveEps) {
    if (!Number.isFinite(e) || e < 0 || e > 1) {
      throw new EvalError('EVAL_BAD_OPTION', `curve eps values must be in [0, 1]; got ${e}`);
    }
  }
  if (options.curveEps.length > 0 && (!Number.isInteger(options.curveSteps) || options.curveSteps < 1)) {
    throw new EvalError('EVAL_BAD_OPTION', `curve steps must be an integer >= 1; got ${options.curveSteps}`);
  }
  if (data.count < 1) throw new EvalError('EVAL_BAD_INPUT', `${data.name} ${data.split} holds no images`);
  const a = options.attackCount;
  if (a !== undefined && (!Number.isInteger(a) || a < 0 || a > data.count)) {
    throw new EvalError('EVAL_BAD_OPTION', `the attacked image count must be an integer in [0, ${data.count}]; got ${a}`);
  }
  const run = new Set(options.attacks.map((s) => s.id));
  const missing = (options.worstCase ?? []).filter((id) => !run.has(id));
  if (missing.length > 0) {
    throw new EvalError('EVAL_BAD_OPTION', `the worst case spans ${missing.join(', ')}, which is not run; attacks run: ${[...run].join(', ')}`);
  }
}

/** Images the attacks run on. */
export function attackCountOf(options: EvaluateOptions, data: EvalDataset): number {
  return Math.min(options.attackCount ?? data.count, data.count);
}

/**
 * Runs the clean pass, every attack and the robustness curve for each model on the same
 * images with the same random starts, so models are compared side by side.
 */
export async function evaluateModels(
  models: readonly EvalModel[],
  data: EvalDataset,
  options: EvaluateOptions,
): Promise<EvaluationReport> {
  checkOptions(options, data);
  for (const m of models) checkCompatible(m, data);
  const started = performance.now();
  const perImage = data.shape.height * data.shape.width * data.shape.channels;
  const batches = Math.ceil(data.count / options.batchSize);
  const attackCount = attackCountOf(options, data);
  const plan = planStages(options.attacks, options.curveEps, options.curveSteps, options.benign);
  const total = models.length * planUnits(plan, data.count, attackCount, options.batchSize);
  let done = 0;

  const reports: ModelReport[] = [];
  for (const entry of models) {
    const modelStart = performance.now();
    const outputs = new ModelOutputs(data.count, attackCount, plan);
    for (let b = 0; b < batches; b++) {
      const { start, end } = batchRange(data.count, options.batchSize, b);
      const input = {
        images: data.images.subarray(start * perImage, end * perImage),
        labels: data.labels.subarray(start, end),
        shape: data.shape,
        first: start,
        attackRows: attackRowsOf(start, end, attackCount),
      };
      const result = await runBatch(entry.model, input, plan, options.seed, b, (step, finished) => {
        if (finished) done += step.units;
        options.onProgress?.({ done, total, model: entry.name, stage: `${step.label}, batch ${b + 1}/${batches}` });
      });
      outputs.add(start, result);
    }
    const { preset, variant } = entry.model.config;
    const info = { name: entry.name, checkpoint: entry.checkpoint, preset, variant, hold: holdOf(entry.model.config) };
    reports.push(
      outputs.summarise(data.labels, info, {
        curveEps: options.curveEps,
        threshold: entry.threshold,
        worstCase: options.worstCase,
        seconds: (performance.now() - modelStart) / 1000,
      }),
    );
  }
  const ctx = { ...options, dataset: data.name, split: data.split, count: data.count, attackCount, plan };
  return assembleReport(ctx, reports, (performance.now() - started) / 1000);
}
