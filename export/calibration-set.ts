import { loadDataset, parseDatasetName } from '../src/data/load.js';
import { gatherBatch, splitTrainVal, type Batch } from '../src/data/split.js';
import type { DatasetName } from '../src/data/types.js';
import { variantFeatures } from '../src/model/architecture.js';
import type { Model } from '../src/model/types.js';
import { defaultValSize } from '../src/train/settings.js';
import { adversarialScores, calibrationWarning, DEFAULT_FPR, thresholdForFpr, type Threshold } from './calibrate.js';
import type { TrainingRecord } from './checkpoint-source.js';
import { ExportError } from './errors.js';

/** The train command's default seed, used when a checkpoint does not record its own. */
export const DEFAULT_SPLIT_SEED = 1;

/**
 * Where the clean calibration images come from. Every field overrides what the training
 * run recorded; the export command and the evaluate command both pass theirs through here,
 * so a threshold reported by one is the threshold shipped by the other.
 */
export interface CalibrationOptions {
  /** Target false-positive rate of the flagging threshold on clean validation images. */
  readonly fpr?: number;
  /** Calibrate on the first N validation images (default: all of them). */
  readonly calibrationSize?: number;
  readonly dataset?: string;
  readonly dataDir?: string;
  readonly valSize?: number;
  readonly splitSeed?: number;
  readonly skipCorrupt?: boolean;
  readonly log?: (line: string) => void;
}

export interface CalibrationSet {
  readonly batch: Batch;
  readonly labels: readonly string[];
  readonly dataset: DatasetName;
  /** How the images were chosen, as the metadata records it. */
  readonly split: string;
}

export interface Calibration {
  readonly threshold: Threshold;
  readonly labels: readonly string[];
  readonly dataset: DatasetName;
  readonly split: string;
}

const badOption = (message: string): never => {
  throw new ExportError('EXPORT_BAD_OPTION', message);
};

/**
 * The clean validation images the training run held out: the same seeded split the train
 * command drew (its dataset, limit, validation size and seed), first `calibrationSize` of them.
 */
export async function calibrationSet(model: Model, options: CalibrationOptions, record: TrainingRecord): Promise<CalibrationSet> {
  const datasetName = options.dataset ?? record.dataset;
  if (datasetName === undefined) {
    badOption('the checkpoint does not record its dataset; pass --dataset (and --val-size/--split-seed as used in training)');
  }
  const dataset = parseDatasetName(datasetName!);
  const dataDir = options.dataDir ?? record.dataDir;
  // A run's image limit applies to its own dataset only.
  const limit = options.dataset === undefined ? record.limit : undefined;
  const all = await loadDataset(dataset, {
    split: 'train',
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(limit !== undefined ? { limit } : {}),
    skipCorrupt: options.skipCorrupt ?? record.skipCorrupt ?? false,
    shape: model.config.input,
  });
  if (all.labelNames.length !== model.config.numClasses) {
    throw new ExportError(
      'EXPORT_CHECKPOINT_INVALID',
      `the model has ${model.config.numClasses} classes but ${dataset} has ${all.labelNames.length} (${all.labelNames.join(', ')})`,
    );
  }
  const valSize = options.valSize ?? record.valSize ?? defaultValSize(all.count);
  const seed = options.splitSeed ?? record.seed ?? DEFAULT_SPLIT_SEED;
  const { val } = splitTrainVal(all.count, valSize, seed);
  if (val.length === 0) badOption(`the validation split is empty (--val-size ${valSize}); calibration needs clean validation images`);
  const take = Math.min(options.calibrationSize ?? val.length, val.length);
  options.log?.(`calibrating on ${take} clean validation images of ${dataset} (split seed ${seed}, ${val.length} held out)`);
  return {
    batch: gatherBatch(all, val.subarray(0, take)),
    labels: all.labelNames,
    dataset,
    split: `train[validation: ${take} of ${val.length} held out, seed ${seed}]`,
  };
}

/** The flagging threshold for the target FPR on the calibration set; 0 for a model without a router. */
export async function calibrateThreshold(model: Model, options: CalibrationOptions, record: TrainingRecord): Promise<Calibration> {
  const set = await calibrationSet(model, options, record);
  const { batch } = set;
  const scores = variantFeatures(model.config.variant).router ? adversarialScores(model, batch.images, batch.count) : new Float32Array(batch.count);
  const threshold = thresholdForFpr(scores, options.fpr ?? DEFAULT_FPR);
  // A model without a router flags nothing whatever its threshold: no warning for it.
  const warning = variantFeatures(model.config.variant).router ? calibrationWarning(threshold.calibrationImages, threshold.targetFpr) : null;
  if (warning !== null) options.log?.(warning);
  return {
    threshold,
    labels: set.labels,
    dataset: set.dataset,
    split: set.split,
  };
}
