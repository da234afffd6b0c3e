import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { calibrateThreshold, type CalibrationOptions } from '../../export/calibration-set.js';
import type { TrainingRecord } from '../../export/checkpoint-source.js';
import { METADATA_KEY, parseMetadata, type AwnetMetadata } from '../contract/model-contract.js';
import { decodeModel } from '../../export/onnx-graph.js';
import { variantFeatures } from '../model/architecture.js';
import type { Model } from '../model/types.js';
import { EvalError } from './errors.js';
import type { ThresholdReport } from './report.js';

/** `--threshold`: a value in [0, 1], or an exported model (`.onnx` or its `.json` sidecar). */
export type ThresholdChoice = number | string;

const none = { targetFpr: null, observedFpr: null, calibrationImages: null, calibrationDataset: null, calibrationSplit: null, file: null } as const;

export function givenThreshold(value: number): ThresholdReport {
  if (!(value >= 0 && value <= 1)) throw new EvalError('EVAL_BAD_OPTION', `a threshold must be a number in [0, 1]; got ${value}`);
  return { value, source: 'given', ...none };
}

/** Export writes 0 for a model without a router; its score is 0 too, so nothing is flagged. */
export function noRouterThreshold(): ThresholdReport {
  return { value: 0, source: 'no-router', ...none };
}

/** A number when the text reads as one, else a file name. */
export function parseThresholdChoice(text: string): ThresholdChoice {
  const trimmed = text.trim();
  if (trimmed === '') throw new EvalError('EVAL_BAD_OPTION', 'a threshold must be a number in [0, 1] or an exported model file');
  const n = Number(trimmed);
  return Number.isFinite(n) ? givenThreshold(n).value : trimmed;
}

async function readExportedMetadata(file: string): Promise<AwnetMetadata> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new EvalError('EVAL_BAD_INPUT', `cannot read the exported model ${file}: ${(err as Error).message}`);
  }
  try {
    if (extname(file).toLowerCase() === '.onnx') {
      const entry = decodeModel(bytes).metadataProps.find((p) => p.key === METADATA_KEY);
      if (!entry?.value) throw new Error(`no '${METADATA_KEY}' entry in its metadata_props`);
      return parseMetadata(entry.value);
    }
    return parseMetadata(bytes.toString('utf8'));
  } catch (err) {
    throw new EvalError('EVAL_BAD_INPUT', `${file} is not an exported model or its sidecar: ${(err as Error).message}`);
  }
}

/** The threshold the service uses for an exported model, which must be of the same preset and variant. */
export async function exportedModelThreshold(file: string, model: Model): Promise<ThresholdReport> {
  const meta = await readExportedMetadata(file);
  const { preset, variant } = model.config;
  if (meta.preset !== preset || meta.variant !== variant) {
    throw new EvalError('EVAL_MODEL_MISMATCH', `${file} holds a ${meta.preset} ${meta.variant} model, not ${preset} ${variant}`);
  }
  return fromCalibration('exported-model', meta.threshold, meta.dataset, meta.threshold.calibrationSplit, file);
}

/** A report of a threshold calibrated on clean images, by export (read back) or as export does. */
function fromCalibration(
  source: 'calibrated' | 'exported-model',
  t: { readonly value: number; readonly targetFpr: number; readonly observedFpr: number; readonly calibrationImages: number },
  dataset: string,
  split: string,
  file: string | null,
): ThresholdReport {
  return {
    value: t.value,
    source,
    targetFpr: t.targetFpr,
    observedFpr: t.observedFpr,
    calibrationImages: t.calibrationImages,
    calibrationDataset: dataset,
    calibrationSplit: split,
    file,
  };
}

/** Keeps a calibration failure's cause but gives it an evaluate code and the way around it. */
function calibrationFailure(checkpoint: string, err: unknown): never {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') throw err;
  const where = `cannot calibrate the flagging threshold of ${checkpoint} as export does: ${(err as Error).message} [${code}]`;
  const bad = code === 'EXPORT_BAD_OPTION' || code === 'DATA_BAD_OPTION';
  throw new EvalError(bad ? 'EVAL_BAD_OPTION' : 'EVAL_BAD_INPUT', `${where}; --threshold gives one instead`);
}

/** The threshold `export` would write for this model: same clean validation images, same FPR rule. */
export async function calibratedThreshold(
  model: Model,
  checkpoint: string,
  record: TrainingRecord,
  options: CalibrationOptions,
): Promise<ThresholdReport> {
  try {
    const cal = await calibrateThreshold(model, options, record);
    return fromCalibration('calibrated', cal.threshold, cal.dataset, cal.split, null);
  } catch (err) {
    return calibrationFailure(checkpoint, err);
  }
}

/**
 * A model's threshold: the one given (a value or an exported model), else, for a model
 * with a router, the one `export` calibrates; a model without a router flags nothing.
 */
export async function resolveThreshold(
  model: Model,
  checkpoint: string,
  record: TrainingRecord,
  choice: ThresholdChoice | undefined,
  calibration: CalibrationOptions,
): Promise<ThresholdReport> {
  if (typeof choice === 'number') return givenThreshold(choice);
  if (typeof choice === 'string') return exportedModelThreshold(choice, model);
  if (!variantFeatures(model.config.variant).router) return noRouterThreshold();
  return calibratedThreshold(model, checkpoint, record, calibration);
}

/** One line for the log: the value and where it came from. */
export function describeThreshold(t: ThresholdReport): string {
  const v = t.value.toPrecision(6);
  switch (t.source) {
    case 'calibrated':
      return `${v}, calibrated for FPR ${t.targetFpr} on ${t.calibrationImages} clean ${t.calibrationDataset} images, ${t.calibrationSplit} (observed FPR ${t.observedFpr?.toFixed(4)})`;
    case 'exported-model':
      return `${v}, from ${t.file} (FPR ${t.targetFpr} on ${t.calibrationImages} clean ${t.calibrationDataset} images, ${t.calibrationSplit})`;
    case 'given':
      return `${v}, given`;
    case 'no-router':
      return 'none: no router, nothing is flagged';
  }
}
