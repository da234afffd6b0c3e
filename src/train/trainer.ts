import * as tf from '@tensorflow/tfjs';
import { augmentBatch } from '../data/augment.js';
import { augmentationFor } from '../data/load.js';
import { hashSeed, Rng } from '../data/rng.js';
import { epochOrder, gatherBatch } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import { saveCheckpoint, type JsonValue } from '../model/checkpoint.js';
import type { Model } from '../model/types.js';
import { BACKEND_NAMES, type BackendName } from '../tf/backend.js';
import { AdaptiveAlpha } from './adaptive-alpha.js';
import { trainingAdversary } from './adversary.js';
import { accumulate, epochRecord, ZERO_SUMS, type EpochRecord } from './epoch-stats.js';
import { TrainError } from './errors.js';
import { disposeOptimizer, setLearningRate } from './optimizer.js';
import { RunFiles } from './run-files.js';
import { ParallelPgdAt } from './parallel-step.js';
import { loadTeachers, prepareData, resumeRun, startRun } from './run-setup.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { checkSettings, type TrainSettings } from './settings.js';
import { decayingVariables, trainStep, type StepFigures } from './train-step.js';
import { validate } from './validate.js';

export type { EpochRecord } from './epoch-stats.js';

export interface StepProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly globalStep: number;
  readonly totalSteps: number;
  /** Mean seconds per training step in this epoch so far. */
  readonly stepSeconds: number;
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
  /** The last finished epoch's figures (also when this session ran none). */
  readonly lastRecord: EpochRecord | null;
}

/** One batch (NHWC pixels, labels): gathered, augmented with a generator keyed by its position. */
function batchArrays(
  dataset: Dataset,
  indices: Int32Array,
  settings: TrainSettings,
  epoch: number,
  step: number,
): { images: Float32Array; labels: Int32Array; count: number } {
  const batch = gatherBatch(dataset, indices);
  const aug = augmentationFor(settings.dataset, dataset.shape, settings.augment);
  const rng = Rng.derive(settings.seed, 0xa0, epoch, step);
  const images = augmentBatch(batch.images, batch.count, dataset.shape, aug, rng);
  return { images, labels: Int32Array.from(batch.labels), count: batch.count };
}

/** The same batch as tensors. */
function batchTensors(
  dataset: Dataset,
  indices: Int32Array,
  settings: TrainSettings,
  epoch: number,
  step: number,
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const { images, labels, count } = batchArrays(dataset, indices, settings, epoch, step);
  const { height, width, channels } = dataset.shape;
  return { x: tf.tensor4d(images, [count, height, width, channels]), y: tf.tensor1d(labels, 'int32') };
}

/** The name under which worker threads load the backend this thread runs on. */
function currentBackend(): BackendName {
  const name = tf.getBackend();
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new TrainError('TRAIN_BAD_OPTION', `--workers > 1 needs one of the backends ${BACKEND_NAMES.join(', ')}; this thread runs on '${name}'`);
  }
  return name as BackendName;
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

  const data = await prepareData(settings, log);
  const { all, steps, batchSize } = data;
  const start = options.resume ? await resumeRun(settings, data, files, log) : startRun(settings, data);
  const { model, optimizer } = start;
  let state = start.state;
  let teachers: { clean: Model; adv: Model } | undefined;
  let parallel: ParallelPgdAt | undefined;
  try {
    await files.prepare();
    if (settings.mode === 'mtard') teachers = await loadTeachers(settings, model);
    if (settings.workers > 1 && settings.mode !== 'mtard') {
      parallel = await ParallelPgdAt.start(settings.workers, {
        backend: currentBackend(),
        preset: settings.preset,
        variant: settings.variant,
        overrides: { ...settings.overrides, numClasses: data.all.labelNames.length },
        mode: settings.mode,
        weightDecay: settings.weightDecay,
        tradesBeta: settings.tradesBeta,
      });
      log(`training on ${settings.workers} worker threads (each batch split into ${settings.workers} shards)`);
    }
  } catch (err) {
    model.dispose();
    disposeOptimizer(optimizer);
    teachers?.clean.dispose();
    teachers?.adv.dispose();
    throw err;
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

    if (state.epoch >= settings.epochs) {
      log(`the run has already finished ${state.epoch} epoch(s); pass a larger --epochs to train on`);
    }
    for (let epoch = state.epoch; epoch < settings.epochs; epoch++) {
      const order = epochOrder(data.train, settings.seed, epoch);
      const startStep = epoch === state.epoch ? state.stepInEpoch : 0;
      const resumedAtStep = options.resume && epoch === state.epoch && startStep > 0 ? startStep : null;
      let sums = startStep > 0 ? state.sums : ZERO_SUMS;
      hooks.onEpochStart?.({ epoch: epoch + 1, epochs: settings.epochs, steps, startStep });
      let lr = learningRate(schedule, state.globalStep);

      for (let step = startStep; step < steps; step++) {
        const t0 = performance.now();
        lr = learningRate(schedule, state.globalStep);
        setLearningRate(optimizer, lr);
        const indices = order.subarray(step * batchSize, (step + 1) * batchSize);
        const attackSeed = hashSeed(settings.seed, 0xad, epoch, step);
        let figures: StepFigures;
        if (parallel !== undefined) {
          const batch = batchArrays(all, indices, settings, epoch, step);
          const result = await parallel.step(model, optimizer, batch.images, batch.labels, {
            eps: settings.eps,
            attackSteps: settings.attackSteps,
            attackStepSize: settings.attackStepSize,
            seed: attackSeed,
            alpha: { alphaNat: alpha.alphaNat, alphaAdv: alpha.alphaAdv },
          });
          figures = result.figures;
        } else {
          const { x, y } = batchTensors(all, indices, settings, epoch, step);
          const xAdv =
            settings.eps === 0
              ? tf.clone(x)
              : trainingAdversary(model, x, y, settings.mode, {
                  eps: settings.eps,
                  steps: settings.attackSteps,
                  stepSize: settings.attackStepSize,
                  seed: attackSeed,
                });
          figures = trainStep(ctx, x, xAdv, y, { alphaNat: alpha.alphaNat, alphaAdv: alpha.alphaAdv }, decaying);
          tf.dispose([x, y, xAdv]);
        }
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
          totalSteps: settings.epochs * steps,
          stepSeconds: sums.trainSeconds / sums.steps,
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
          return { status: 'interrupted', checkpoint: files.latest, records, globalStep: state.globalStep, totalSeconds: seconds(), lastRecord: state.lastRecord };
        }
      }

      const v0 = performance.now();
      const val = validate(model, all, data.val, data.pgdVal, {
        batchSize: Math.max(batchSize, 256),
        eps: settings.eps,
        attackSteps: settings.valAttackSteps,
        attackStepSize: settings.eps / 4,
        seed: hashSeed(settings.seed, 0x7a1, epoch),
      });
      const valSeconds = (performance.now() - v0) / 1000;
      const record = epochRecord({
        epoch: epoch + 1,
        epochs: settings.epochs,
        sums,
        hasRouter: model.config.variant !== 'static',
        val,
        valSeconds,
        lr,
        alpha,
        resumedAtStep,
      });
      state = { ...state, epoch: epoch + 1, stepInEpoch: 0, sums: ZERO_SUMS, lastRecord: record };
      await save(files.epochCheckpoint(epoch + 1));
      await save(files.latest);
      await files.appendLog(record);
      records.push(record);
      hooks.onEpochEnd?.(record);
      if (options.signal?.aborted && epoch + 1 < settings.epochs) {
        log(`interrupted after epoch ${epoch + 1}; saved ${files.latest} (continue with --resume)`);
        return { status: 'interrupted', checkpoint: files.latest, records, globalStep: state.globalStep, totalSeconds: seconds(), lastRecord: state.lastRecord };
      }
    }
    return { status: 'finished', checkpoint: files.latest, records, globalStep: state.globalStep, totalSeconds: seconds(), lastRecord: state.lastRecord };
  } finally {
    await parallel?.close();
    model.dispose();
    disposeOptimizer(optimizer);
    teachers?.clean.dispose();
    teachers?.adv.dispose();
  }
}
