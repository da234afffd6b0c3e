import * as tf from '@tensorflow/tfjs';
import { augmentationFor, loadDataset } from '../data/load.js';
import { Rng, hashSeed } from '../data/rng.js';
import { epochOrder, gatherBatch, splitTrainVal, stepsPerEpoch } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import { augmentBatch } from '../data/augment.js';
import { loadCheckpoint, saveCheckpoint, type JsonValue } from '../model/checkpoint.js';
import { createModel } from '../model/awnet.js';
import { buildConfig } from '../model/presets.js';
import type { Model } from '../model/types.js';
import { AdaptiveAlpha, type AdaptiveAlphaState } from './adaptive-alpha.js';
import { trainingAdversary } from './adversary.js';
import { TrainError } from './errors.js';
import { initialAlpha } from './objective.js';
import { createOptimizer, disposeOptimizer, setLearningRate } from './optimizer.js';
import { RunFiles } from './run-files.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { checkSettings, defaultValSize, resumeConflicts, type TrainSettings } from './settings.js';
import { decayingVariables, trainStep, type StepFigures } from './train-step.js';
import { validate, type ValidationFigures } from './validate.js';

/** Running sums over the steps of the current epoch (kept in checkpoints for mid-epoch resume). */
interface EpochSums {
  loss: number;
  lossType: number;
  lossNat: number;
  lossAdv: number;
  correctClean: number;
  correctAdv: number;
  typeCorrect: number;
  count: number;
  steps: number;
  trainSeconds: number;
}

/** What `trainerState` holds in every checkpoint. */
interface TrainerState {
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
}

export interface EpochRecord {
  readonly epoch: number;
  readonly epochs: number;
  readonly steps: number;
  readonly trainLoss: number;
  readonly trainLossType: number;
  readonly trainLossNat: number;
  readonly trainLossAdv: number;
  readonly trainCleanAcc: number;
  readonly trainAdvAcc: number;
  readonly trainRouterAcc: number | null;
  readonly valCleanAcc: number | null;
  readonly valPgdAcc: number | null;
  readonly valRouterAcc: number | null;
  readonly valSize: number;
  readonly valPgdSize: number;
  readonly lr: number;
  readonly alphaNat: number;
  readonly alphaAdv: number;
  /** Clean training images per second of training-step time (validation excluded). */
  readonly imagesPerSecond: number;
  readonly trainSeconds: number;
  readonly valSeconds: number;
  /** Step of this epoch at which this session resumed it, or null. */
  readonly resumedAtStep: number | null;
  readonly time: string;
}

export interface StepProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly globalStep: number;
  readonly figures: StepFigures;
  /** Means over the epoch so far. */
  readonly epochLoss: number;
  readonly epochAcc: number;
  readonly imagesPerSecond: number;
  readonly lr: number;
}

export interface TrainerHooks {
  readonly log?: (line: string) => void;
  readonly onEpochStart?: (info: { epoch: number; epochs: number; steps: number; startStep: number }) => void;
  readonly onStep?: (progress: StepProgress) => void;
  readonly onEpochEnd?: (record: EpochRecord) => void;
}

export interface TrainResult {
  readonly status: 'finished' | 'interrupted';
  readonly checkpoint: string;
  readonly records: readonly EpochRecord[];
  readonly globalStep: number;
  readonly totalSeconds: number;
}

const ZERO_SUMS: EpochSums = {
  loss: 0,
  lossType: 0,
  lossNat: 0,
  lossAdv: 0,
  correctClean: 0,
  correctAdv: 0,
  typeCorrect: 0,
  count: 0,
  steps: 0,
  trainSeconds: 0,
};

function accumulate(sums: EpochSums, f: StepFigures, seconds: number): EpochSums {
  return {
    loss: sums.loss + f.loss,
    lossType: sums.lossType + f.lossType,
    lossNat: sums.lossNat + f.lossNat,
    lossAdv: sums.lossAdv + f.lossAdv,
    correctClean: sums.correctClean + f.correctClean,
    correctAdv: sums.correctAdv + f.correctAdv,
    typeCorrect: sums.typeCorrect + f.typeCorrect,
    count: sums.count + f.count,
    steps: sums.steps + 1,
    trainSeconds: sums.trainSeconds + seconds,
  };
}

async function loadTeacher(path: string, role: string, model: Model): Promise<Model> {
  const { model: teacher } = await loadCheckpoint(path);
  const a = teacher.config;
  const b = model.config;
  if (a.numClasses !== b.numClasses || JSON.stringify(a.input) !== JSON.stringify(b.input)) {
    teacher.dispose();
    throw new TrainError(
      'TRAIN_TEACHER_MISMATCH',
      `${role} teacher ${path} takes ${a.input.height}×${a.input.width}×${a.input.channels} inputs and ${a.numClasses} classes; the student takes ${b.input.height}×${b.input.width}×${b.input.channels} and ${b.numClasses}`,
    );
  }
  return teacher;
}

/** One batch as tensors: gathered, augmented with a generator keyed by its position. */
function batchTensors(
  dataset: Dataset,
  indices: Int32Array,
  settings: TrainSettings,
  epoch: number,
  step: number,
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const batch = gatherBatch(dataset, indices);
  const aug = augmentationFor(settings.dataset, dataset.shape, settings.augment);
  const rng = Rng.derive(settings.seed, 0xa0, epoch, step);
  const images = augmentBatch(batch.images, batch.count, dataset.shape, aug, rng);
  const { height, width, channels } = dataset.shape;
  return { x: tf.tensor4d(images, [batch.count, height, width, channels]), y: tf.tensor1d(batch.labels, 'int32') };
}

/**
 * Runs (or resumes) a training run into `settings.out`. Every random choice — data order,
 * augmentation, PGD's random start — is drawn from a generator keyed by (seed, epoch, step),
 * so the position alone restores the random state and a resumed run repeats exactly what
 * the uninterrupted run would have done.
 */
export async function train(settings: TrainSettings, options: { resume: boolean; hooks?: TrainerHooks; signal?: AbortSignal }): Promise<TrainResult> {
  checkSettings(settings);
  const hooks = options.hooks ?? {};
  const log = hooks.log ?? (() => {});
  const files = new RunFiles(settings.out);

  if (options.resume && !(await files.hasCheckpoint())) {
    throw new TrainError('TRAIN_NOTHING_TO_RESUME', `nothing to resume: ${files.latest} holds no checkpoint; run without --resume to start`);
  }
  if (!options.resume && (await files.hasCheckpoint())) {
    throw new TrainError('TRAIN_OUT_EXISTS', `${settings.out} already holds a run (${files.latest}); pass --resume to continue it or choose another --out`);
  }

  const loadStarted = Date.now();
  const all = await loadDataset(settings.dataset, {
    split: 'train',
    ...(settings.dataDir !== null ? { dataDir: settings.dataDir } : {}),
    ...(settings.limit !== null ? { limit: settings.limit } : {}),
    skipCorrupt: settings.skipCorrupt,
    shape: buildConfig(settings.preset, settings.variant, settings.overrides).input,
  });
  if (all.skipped > 0) log(`skipped ${all.skipped} corrupt record(s)/file(s):\n  ${all.skippedDetails.join('\n  ')}`);
  const split = splitTrainVal(all.count, settings.valSize ?? defaultValSize(all.count), settings.seed);
  const batchSize = Math.min(settings.batchSize, split.train.length);
  const steps = stepsPerEpoch(split.train.length, batchSize);
  if (steps === 0 || batchSize < 2) {
    throw new TrainError('TRAIN_BAD_OPTION', `${split.train.length} training images are too few for batches of ${settings.batchSize}`);
  }
  const pgdVal = split.val.subarray(0, Math.min(settings.valPgdSize, split.val.length));
  log(
    `data: ${settings.dataset} ${all.count} images (${split.train.length} train, ${split.val.length} validation, ${pgdVal.length} attacked) in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s; ${steps} steps of ${batchSize} per epoch`,
  );

  if (settings.overrides.numClasses !== undefined && settings.overrides.numClasses !== all.labelNames.length) {
    throw new TrainError(
      'TRAIN_BAD_OPTION',
      `the model would have ${settings.overrides.numClasses} classes but ${settings.dataset} has ${all.labelNames.length} (${all.labelNames.join(', ')})`,
    );
  }
  const overrides = { ...settings.overrides, numClasses: all.labelNames.length };
  let model: Model;
  let optimizer: tf.Optimizer;
  let state: TrainerState;
  if (options.resume) {
    const loaded = await loadCheckpoint(files.latest);
    const saved = loaded.trainerState as unknown as TrainerState | null;
    if (saved === null || typeof saved !== 'object' || saved.settings === undefined) {
      loaded.model.dispose();
      throw new TrainError('TRAIN_RESUME_MISMATCH', `${files.latest} was not written by the train command (no trainer state)`);
    }
    const conflicts = resumeConflicts(saved.settings, settings);
    if (conflicts.length > 0) {
      loaded.model.dispose();
      throw new TrainError('TRAIN_RESUME_MISMATCH', `cannot resume ${files.latest} with different settings:\n  ${conflicts.join('\n  ')}`);
    }
    model = loaded.model;
    const restored = await loaded.createOptimizer(model);
    if (restored === null) {
      model.dispose();
      throw new TrainError('TRAIN_RESUME_MISMATCH', `${files.latest} holds no optimizer state to resume from`);
    }
    optimizer = restored;
    state = { ...saved, settings };
    log(`resumed from ${files.latest}: epoch ${state.epoch + 1}, step ${state.stepInEpoch} of ${steps} (global step ${state.globalStep})`);
  } else {
    const config = buildConfig(settings.preset, settings.variant, overrides);
    model = createModel(config, settings.seed);
    optimizer = createOptimizer({ name: settings.optimizer, lr: settings.lr, momentum: settings.momentum });
    state = {
      settings,
      epoch: 0,
      stepInEpoch: 0,
      globalStep: 0,
      alpha: new AdaptiveAlpha(initialAlpha(settings.mode)).snapshot(),
      sums: ZERO_SUMS,
      totalSeconds: 0,
      lastRecord: null,
    };
  }
  await files.prepare();

  let teachers: { clean: Model; adv: Model } | undefined;
  if (settings.mode === 'mtard') {
    let clean: Model | undefined;
    try {
      clean = await loadTeacher(settings.teacherClean!, 'clean', model);
      teachers = { clean, adv: await loadTeacher(settings.teacherAdv!, 'robust', model) };
    } catch (err) {
      clean?.dispose();
      model.dispose();
      disposeOptimizer(optimizer);
      throw err;
    }
  }

  const schedule: LrSchedule = {
    name: settings.lrSchedule,
    baseLr: settings.lr,
    totalSteps: settings.epochs * steps,
    warmupSteps: settings.warmupEpochs * steps,
    milestones: [0.5, 0.75],
    gamma: 0.1,
  };
  const alpha = new AdaptiveAlpha(state.alpha);
  const decaying = decayingVariables(model);
  const ctx = {
    model,
    optimizer,
    mode: settings.mode,
    tradesBeta: settings.tradesBeta,
    weightDecay: settings.weightDecay,
    ...(teachers ? { teachers } : {}),
  };
  const records: EpochRecord[] = [];
  const sessionStart = Date.now();
  const seconds = (): number => state.totalSeconds + (Date.now() - sessionStart) / 1000;

  const save = async (dir: string): Promise<void> => {
    const trainerState = { ...state, alpha: alpha.snapshot(), totalSeconds: seconds() };
    await saveCheckpoint(dir, {
      model,
      optimizer,
      epoch: state.epoch,
      step: state.globalStep,
      rng: { seed: settings.seed, state: { scheme: 'sfc32 keyed by (seed, purpose, epoch, step)', epoch: state.epoch, step: state.stepInEpoch } },
      trainerState: trainerState as unknown as JsonValue,
    });
  };

  try {
    // A record finished before a kill but never logged is written now.
    const logged = await files.loggedEpochs();
    if (state.lastRecord !== null && !logged.has(state.lastRecord.epoch)) await files.appendLog(state.lastRecord);

    for (let epoch = state.epoch; epoch < settings.epochs; epoch++) {
      const order = epochOrder(split.train, settings.seed, epoch);
      const startStep = epoch === state.epoch ? state.stepInEpoch : 0;
      const resumedAtStep = options.resume && epoch === state.epoch && startStep > 0 ? startStep : null;
      let sums = startStep > 0 ? state.sums : ZERO_SUMS;
      hooks.onEpochStart?.({ epoch: epoch + 1, epochs: settings.epochs, steps, startStep });
      let lr = learningRate(schedule, state.globalStep);

      for (let step = startStep; step < steps; step++) {
        const t0 = performance.now();
        lr = learningRate(schedule, state.globalStep);
        setLearningRate(optimizer, lr);
        const { x, y } = batchTensors(all, order.subarray(step * batchSize, (step + 1) * batchSize), settings, epoch, step);
        const xAdv =
          settings.eps === 0
            ? tf.clone(x)
            : trainingAdversary(model, x, y, settings.mode, {
                eps: settings.eps,
                steps: settings.attackSteps,
                stepSize: settings.attackStepSize,
                seed: hashSeed(settings.seed, 0xad, epoch, step),
              });
        const figures = trainStep(ctx, x, xAdv, y, { alphaNat: alpha.alphaNat, alphaAdv: alpha.alphaAdv }, decaying);
        tf.dispose([x, y, xAdv]);
        if (!Number.isFinite(figures.loss)) {
          throw new TrainError(
            'TRAIN_DIVERGED',
            `the loss became ${figures.loss} at epoch ${epoch + 1} step ${step + 1} (lr ${lr.toPrecision(3)}); lower --lr or resume from ${files.latest}`,
          );
        }
        if (settings.mode === 'mtard') alpha.update(figures.lossNat, figures.lossAdv);
        const elapsed = (performance.now() - t0) / 1000;
        sums = accumulate(sums, figures, elapsed);
        state = { ...state, epoch, stepInEpoch: step + 1, globalStep: state.globalStep + 1, sums };
        hooks.onStep?.({
          epoch: epoch + 1,
          epochs: settings.epochs,
          step: step + 1,
          steps,
          globalStep: state.globalStep,
          figures,
          epochLoss: sums.loss / sums.steps,
          epochAcc: sums.correctClean / sums.count,
          imagesPerSecond: sums.count / sums.trainSeconds,
          lr,
        });
        // Training is synchronous tfjs work: yield once per step so signals (Ctrl-C) get through.
        await new Promise((r) => setImmediate(r));
        const lastStep = step + 1 === steps;
        if (!lastStep && settings.checkpointEvery > 0 && state.globalStep % settings.checkpointEvery === 0) await save(files.latest);
        if (!lastStep && options.signal?.aborted) {
          await save(files.latest);
          log(`interrupted at epoch ${epoch + 1} step ${step + 1}; saved ${files.latest} (continue with --resume)`);
          return { status: 'interrupted', checkpoint: files.latest, records, globalStep: state.globalStep, totalSeconds: seconds() };
        }
      }

      const v0 = performance.now();
      const val: ValidationFigures = validate(model, all, split.val, pgdVal, {
        batchSize: Math.max(batchSize, 256),
        eps: settings.eps,
        attackSteps: settings.valAttackSteps,
        attackStepSize: settings.eps / 4,
        seed: hashSeed(settings.seed, 0x7a1, epoch),
      });
      const valSeconds = (performance.now() - v0) / 1000;
      const record: EpochRecord = {
        epoch: epoch + 1,
        epochs: settings.epochs,
        steps: sums.steps,
        trainLoss: sums.loss / sums.steps,
        trainLossType: sums.lossType / sums.steps,
        trainLossNat: sums.lossNat / sums.steps,
        trainLossAdv: sums.lossAdv / sums.steps,
        trainCleanAcc: sums.correctClean / sums.count,
        trainAdvAcc: sums.correctAdv / sums.count,
        trainRouterAcc: model.config.variant === 'static' ? null : sums.typeCorrect / (2 * sums.count),
        valCleanAcc: val.cleanCount > 0 ? val.cleanAcc : null,
        valPgdAcc: val.pgdAcc,
        valRouterAcc: val.routerAcc,
        valSize: val.cleanCount,
        valPgdSize: val.pgdCount,
        lr,
        alphaNat: alpha.alphaNat,
        alphaAdv: alpha.alphaAdv,
        imagesPerSecond: sums.count / sums.trainSeconds,
        trainSeconds: sums.trainSeconds,
        valSeconds,
        resumedAtStep,
        time: new Date().toISOString(),
      };
      state = { ...state, epoch: epoch + 1, stepInEpoch: 0, sums: ZERO_SUMS, lastRecord: record };
      await save(files.epochCheckpoint(epoch + 1));
      await save(files.latest);
      await files.appendLog(record);
      records.push(record);
      hooks.onEpochEnd?.(record);
      if (options.signal?.aborted && epoch + 1 < settings.epochs) {
        log(`interrupted after epoch ${epoch + 1}; saved ${files.latest} (continue with --resume)`);
        return { status: 'interrupted', checkpoint: files.latest, records, globalStep: state.globalStep, totalSeconds: seconds() };
      }
    }
    return { status: 'finished', checkpoint: files.latest, records, globalStep: state.globalStep, totalSeconds: seconds() };
  } finally {
    model.dispose();
    disposeOptimizer(optimizer);
    teachers?.clean.dispose();
    teachers?.adv.dispose();
  }
}
