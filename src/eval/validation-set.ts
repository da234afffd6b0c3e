import { calibrationSet, type CalibrationOptions } from '../../export/calibration-set.js';
import type { TrainingRecord } from '../../export/checkpoint-source.js';
import type { Model } from '../model/types.js';
import type { EvalDataset } from './evaluate.js';

/** Which images `evaluate` measures: the test split, or the validation images a training run held out. */
export const EVAL_SPLITS = ['test', 'validation'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/**
 * The clean validation images the training run of `model` held out (its dataset, image
 * limit, validation size and split seed, as `export` calibrates on them), first `limit` of
 * them. Settings such as a router hold are chosen here, so the test set measures only what
 * is shipped. The flagging threshold is calibrated on these same images, so their clean
 * flag rate is the calibration's own false-positive rate by construction.
 */
export async function validationDataset(
  model: Model,
  options: CalibrationOptions,
  record: TrainingRecord,
  limit: number | undefined,
): Promise<EvalDataset> {
  const set = await calibrationSet(model, { ...options, ...(limit !== undefined ? { calibrationSize: limit } : {}) }, record);
  return {
    name: set.dataset,
    split: set.split,
    shape: { ...model.config.input },
    images: set.batch.images,
    labels: set.batch.labels,
    count: set.batch.count,
    labelNames: set.labels,
  };
}
