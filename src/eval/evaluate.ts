import type { Model } from '../model/types.js';
import type { AttackSpec } from './attack-suite.js';
import { batchRange, planStages, runBatch, stageCost } from './batch-runner.js';
import { EvalError } from './errors.js';
import type { EvaluationReport, ModelReport } from './report.js';
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
  /** Eps values of the robustness curve; empty for none. */
  readonly curveEps: readonly number[];
  readonly curveSteps: number;
  /** Name of the tfjs backend in use, for the report. */
  readonly backend: string;
  readonly onProgress?: (event: ProgressEvent) => void;
}

export function checkCompatible(entry: EvalModel, data: EvalDataset): void {
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
  const plan = planStages(options.attacks, options.curveEps, options.curveSteps);
  const perBatch = 1 + plan.stages.reduce((sum, spec) => sum + stageCost(spec), 0);
  const total = models.length * batches * perBatch;
  let done = 0;

  const reports: ModelReport[] = [];
  for (const entry of models) {
    const modelStart = performance.now();
    const outputs = new ModelOutputs(data.count, plan);
    for (let b = 0; b < batches; b++) {
      const { start, end } = batchRange(data.count, options.batchSize, b);
      const input = {
        images: data.images.subarray(start * perImage, end * perImage),
        labels: data.labels.subarray(start, end),
        shape: data.shape,
      };
      const result = await runBatch(entry.model, input, plan, options.seed, b, (stage, finished) => {
        const spec = plan.stages[stage];
        if (finished) done += spec === undefined ? 1 : stageCost(spec);
        const label = spec === undefined ? 'clean' : spec.label;
        options.onProgress?.({ done, total, model: entry.name, stage: `${label}, batch ${b + 1}/${batches}` });
      });
      outputs.add(start, result);
    }
    const { preset, variant } = entry.model.config;
    const info = { name: entry.name, checkpoint: entry.checkpoint, preset, variant };
    reports.push(outputs.summarise(data.labels, info, options.curveEps, (performance.now() - modelStart) / 1000));
  }
  const ctx = { ...options, dataset: data.name, split: data.split, count: data.count, plan };
  return assembleReport(ctx, reports, (performance.now() - started) / 1000);
}
