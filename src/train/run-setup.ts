import type * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../data/load.js';
import { splitTrainVal, stepsPerEpoch } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import { createModel } from '../model/awnet.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { buildConfig, type ConfigOverrides } from '../model/presets.js';
import type { ArchConfig, Model } from '../model/types.js';
import { AdaptiveAlpha, type AdaptiveAlphaState } from './adaptive-alpha.js';
import { ZERO_SUMS, type EpochRecord, type EpochSums } from './epoch-stats.js';
import { TrainError } from './errors.js';
import { initialAlpha, objectiveFor } from './objective.js';
import { predictorWidth } from './objective-ar-at.js';
import { createOptimizer } from './optimizer.js';
import type { RunFiles } from './run-files.js';
import { defaultValSize, resumeConflicts, type TrainSettings } from './settings.js';

/** What `trainerState` holds in every checkpoint. */
export interface TrainerState {
  readonly settings: TrainSettings;
  /** Next position: epoch (0-based) and step within it. */
  readonly epoch: number;
  readonly stepInEpoch: number;
  readonly globalStep: number;
  readonly alpha: AdaptiveAlphaState;
  readonly sums: EpochSums;
  /** Training seconds summed over every session of this run. */
  readonly totalSeconds: number;
  /** The last finished epoch's record, in case the kill came before it reached the log. */
  readonly lastRecord: EpochRecord | null;
  /** Steps the time-budget plan holds (null: no budget, or not planned yet). */
  readonly plannedSteps: number | null;
  /** Seconds the first budget plan expected the whole run to take. */
  readonly firstPlanSeconds: number | null;
  /** Seconds the last validation took (with its checkpoint saves). */
  readonly validationSeconds: number | null;
  /** The best epoch-end checkpoint so far, by validation W-Robust on the worst case. */
  readonly best: BestMark | null;
  /** FGSM, PGD and worst-case validation accuracy of every finished epoch (collapse checks; worstAcc absent in older checkpoints). */
  readonly valHistory: readonly { readonly pgdAcc: number | null; readonly fgsmAcc: number | null; readonly worstAcc?: number | null }[];
  /** Epochs at which catastrophic overfitting was detected. */
  readonly overfitEpochs: readonly number[];
}

export interface BestMark {
  readonly epoch: number;
  readonly globalStep: number;
  readonly valWRobust: number;
  readonly valCleanAcc: number;
  readonly valWorstAcc: number;
}

/** Trainer-state fields added after the first checkpoints were written, with their defaults. */
const STATE_DEFAULTS = {
  plannedSteps: null,
  firstPlanSeconds: null,
  validationSeconds: null,
  best: null,
  valHistory: [],
  overfitEpochs: [],
} as const;

export interface TrainData {
  readonly all: Dataset;
  readonly train: Int32Array;
  readonly val: Int32Array;
  /** The part of `val` attacked with PGD at each validation. */
  readonly pgdVal: Int32Array;
  readonly batchSize: number;
  readonly steps: number;
}

/** Loads the training split, holds out the seeded validation set and sizes the epoch. */
export async function prepareData(settings: TrainSettings, log: (line: string) => void): Promise<TrainData> {
  const started = Date.now();
  const all = await loadDataset(settings.dataset, {
    split: 'train',
    ...(settings.dataDir !== null ? { dataDir: settings.dataDir } : {}),
    ...(settings.limit !== null ? { limit: settings.limit } : {}),
    skipCorrupt: settings.skipCorrupt,
    shape: buildConfig(settings.preset, settings.variant, settings.overrides).input,
  });
  if (all.skipped > 0) log(`skipped ${all.skipped} corrupt record(s)/file(s):\n  ${all.skippedDetails.join('\n  ')}`);
  if (settings.overrides.numClasses !== undefined && settings.overrides.numClasses !== all.labelNames.length) {
    throw new TrainError(
      'TRAIN_BAD_OPTION',
      `the model would have ${settings.overrides.numClasses} classes but ${settings.dataset} has ${all.labelNames.length} (${all.labelNames.join(', ')})`,
    );
  }
  const { train, val } = splitTrainVal(all.count, settings.valSize ?? defaultValSize(all.count), settings.seed);
  const batchSize = Math.min(settings.batchSize, train.length);
  const steps = stepsPerEpoch(train.length, batchSize);
  if (steps === 0 || batchSize < 2) {
    throw new TrainError('TRAIN_BAD_OPTION', `${train.length} training images are too few for batches of ${settings.batchSize}`);
  }
  const pgdVal = val.subarray(0, Math.min(settings.valPgdSize, val.length));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(
    `data: ${settings.dataset} ${all.count} images (${train.length} train, ${val.length} validation, ${pgdVal.length} attacked) in ${seconds} s; ${steps} steps of ${batchSize} per epoch`,
  );
  return { all, train, val, pgdVal, batchSize, steps };
}

export interface RunStart {
  readonly model: Model;
  readonly optimizer: tf.Optimizer;
  readonly state: TrainerState;
}

/** The trainer state before a run's first step. */
export function initialState(settings: TrainSettings): TrainerState {
  return {
    settings,
    epoch: 0,
    stepInEpoch: 0,
    globalStep: 0,
    alpha: new AdaptiveAlpha(initialAlpha(settings.mode)).snapshot(),
    sums: ZERO_SUMS,
    totalSeconds: 0,
    lastRecord: null,
    ...STATE_DEFAULTS,
  };
}

/**
 * The architecture of the model a run trains: the command line's overrides, the data's classes
 * and, for an objective that trains one, the predictor head on the pooled features.
 */
export function modelOverrides(settings: TrainSettings, numClasses: number): ConfigOverrides {
  const overrides = { ...settings.overrides, numClasses };
  if (objectiveFor(settings.mode).usesPredictor !== true) return overrides;
  const { main } = buildConfig(settings.preset, settings.variant, overrides);
  return { ...overrides, predictor: predictorWidth(main.widths[main.widths.length - 1] ?? main.stem) };
}

/** A fresh model and optimizer for a new run. */
export function startRun(settings: TrainSettings, data: TrainData): RunStart {
  const config = buildConfig(settings.preset, settings.variant, modelOverrides(settings, data.all.labelNames.length));
  return {
    model: createModel(config, settings.seed),
    optimizer: createOptimizer({ name: settings.optimizer, lr: settings.lr, momentum: settings.momentum }),
    state: initialState(settings),
  };
}

/** The model, optimizer and position saved in `files.latest`, checked against `settings`. */
export async function resumeRun(settings: TrainSettings, data: TrainData, files: RunFiles, log: (line: string) => void): Promise<RunStart> {
  const loaded = await loadCheckpoint(files.latest);
  const saved = loaded.trainerState as unknown as TrainerState | null;
  const fail = (message: string): never => {
    loaded.model.dispose();
    throw new TrainError('TRAIN_RESUME_MISMATCH', message);
  };
  if (saved === null || typeof saved !== 'object' || saved.settings === undefined) {
    fail(`${files.latest} was not written by the train command (no trainer state)`);
  }
  const conflicts = resumeConflicts(saved!.settings, settings);
  if (conflicts.length > 0) fail(`cannot resume ${files.latest} with different settings:\n  ${conflicts.join('\n  ')}`);
  const optimizer = await loaded.createOptimizer(loaded.model);
  if (optimizer === null) fail(`${files.latest} holds no optimizer state to resume from`);
  const state: TrainerState = { ...STATE_DEFAULTS, ...saved!, settings };
  log(`resumed from ${files.latest}: epoch ${state.epoch + 1}, step ${state.stepInEpoch} of ${data.steps} (global step ${state.globalStep})`);
  return { model: loaded.model, optimizer: optimizer!, state };
}

/**
 * How a checkpoint's model (`a`) and the model being trained (`b`, called `bName`) differ in
 * what they take and answer — input shape or classes — or null when they agree. The teachers and
 * `--init-from` both need this, with the same words.
 */
export function taskMismatch(a: ArchConfig, b: ArchConfig, bName: string): string | null {
  if (a.numClasses === b.numClasses && JSON.stringify(a.input) === JSON.stringify(b.input)) return null;
  return (
    `takes ${a.input.height}×${a.input.width}×${a.input.channels} inputs and ${a.numClasses} classes; ` +
    `${bName} takes ${b.input.height}×${b.input.width}×${b.input.channels} and ${b.numClasses}`
  );
}

async function loadTeacher(path: string, role: string, student: Model): Promise<Model> {
  const { model: teacher } = await loadCheckpoint(path);
  const mismatch = taskMismatch(teacher.config, student.config, 'the student');
  if (mismatch !== null) {
    teacher.dispose();
    throw new TrainError('TRAIN_TEACHER_MISMATCH', `${role} teacher ${path} ${mismatch}`);
  }
  return teacher;
}

/** MTARD's two teachers; on failure nothing stays allocated. */
export async function loadTeachers(settings: TrainSettings, student: Model): Promise<{ clean: Model; adv: Model }> {
  const clean = await loadTeacher(settings.teacherClean!, 'clean', student);
  try {
    return { clean, adv: await loadTeacher(settings.teacherAdv!, 'robust', student) };
  } catch (err) {
    clean.dispose();
    throw err;
  }
}
