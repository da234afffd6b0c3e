import * as tf from '@tensorflow/tfjs';
import { hashSeed } from '../data/rng.js';
import { epochOrder } from '../data/split.js';
import { saveCheckpoint, type JsonValue } from '../model/checkpoint.js';
import type { Model } from '../model/types.js';
import { BACKEND_NAMES, type BackendName } from '../tf/backend.js';
import { AdaptiveAlpha } from './adaptive-alpha.js';
import { trainingBatch } from './batches.js';
import { accumulate, epochRecord, ZERO_SUMS, type EpochRecord } from './epoch-stats.js';
import { TrainError } from './errors.js';
import { freezeInOptimizer, frozenVariables } from './freeze.js';
import { disposeOptimizer, setLearningRate } from './optimizer.js';
import { ParallelPgdAt } from './parallel-step.js';
import { RunBudget } from './run-budget.js';
import { RunFiles } from './run-files.js';
import { objectiveFor } from './objective.js';
import { loadTeachers, modelOverrides, prepareData, resumeRun, startRun, type TrainerState } from './run-setup.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { attackOf, checkSettings, evasionOf, objectiveParamsOf, type TrainSettings } from './settings.js';
import { ParallelStepRunner, SerialStepRunner, type StepBatch, type StepRunner } from './step-runner.js';
import type { StepFigures } from './train-step.js';
import { catastrophicOverfitting, robustnessCollapse, validate } from './validate.js';
import { describeWarmStart, warmStart } from './warm-start.js';

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
  /** Seconds left of the time budget; null without one. */
  readonly budgetLeftSeconds: number | null;
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
  /** The trainer state at the end (best checkpoint, budget plan, overfitting epochs). */
  readonly state: TrainerState;
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
 * augmentation, benign corruptions, the attacks' random starts — is drawn from a generator
 * keyed by (seed, epoch, step), so the position alone restores the random state and a resumed
 * run repeats exactly what the uninterrupted run would have done. With a time budget the
 * number of steps is planned from measured throughput (RunBudget), and the schedule spans it.
 */
export async function train(settings: TrainSettings, options: { resume: boolean; hooks?: TrainerHooks; signal?: AbortSignal }): Promise<TrainResult> {
  const sessionStart = Date.now();
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
  let runner: StepRunner;
  try {
    await files.prepare();
    if (!options.resume && settings.initFrom !== null) {
      log(describeWarmStart(await warmStart(model, settings.initFrom), settings.initFrom));
    }
    if (settings.freeze.length > 0) {
      const frozen = frozenVariables(model, settings.freeze);
      freezeInOptimizer(optimizer, frozen);
      log(`frozen: ${frozen.size} of ${model.trainableVariables().length} trainable variables (${settings.freeze.join(', ')})`);
    }
    if (objectiveFor(settings.mode).needsTeachers) teachers = await loadTeachers(settings, model);
    const ctx = {
      model,
      optimizer,
      mode: settings.mode,
      ...objectiveParamsOf(settings),
      typeSmoothing: settings.typeSmoothing,
      weightDecay: settings.weightDecay,
      ...(teachers ? { teachers } : {}),
    };
    if (settings.workers > 1) {
      const parallel = await ParallelPgdAt.start(settings.workers, {
        backend: currentBackend(),
        preset: settings.preset,
        variant: settings.variant,
        overrides: modelOverrides(settings, data.all.labelNames.length),
        mode: settings.mode,
        weightDecay: settings.weightDecay,
        ...objectiveParamsOf(settings),
        typeSmoothing: settings.typeSmoothing,
        ...(teachers ? { teachers: { clean: settings.teacherClean!, adv: settings.teacherAdv! } } : {}),
      });
      runner = new ParallelStepRunner(parallel, ctx);
      log(`training on ${settings.workers} worker threads (each batch split into ${settings.workers} shards)`);
    } else {
      runner = new SerialStepRunner(ctx);
    }
  } catch (err) {
    model.dispose();
    disposeOptimizer(optimizer);
    teachers?.clean.dispose();
    teachers?.adv.dispose();
    throw err;
  }

  const seconds = (): number => state.totalSeconds + (Date.now() - sessionStart) / 1000;
  const budget = settings.timeBudgetMinutes === null ? null : new RunBudget(settings, data, state, log);
  let totalSteps = budget ? budget.totalSteps : settings.epochs * steps;
  const scheduleFor = (total: number): LrSchedule => ({
    name: settings.lrSchedule,
    baseLr: settings.lr,
    totalSteps: total,
    warmupSteps: settings.warmupEpochs * steps,
    milestones: [0.5, 0.75],
    gamma: 0.1,
  });
  let schedule = scheduleFor(totalSteps);
  const epochsOf = (total: number): number => Math.max(1, Math.ceil(total / steps));
  const alpha = new AdaptiveAlpha(state.alpha);
  const attack = attackOf(settings);
  const evasion = evasionOf(settings);
  const records: EpochRecord[] = [];
  const hasRouter = model.config.variant !== 'static';

  const save = async (dir: string): Promise<void> => {
    const trainerState = { ...state, alpha: alpha.snapshot(), totalSeconds: seconds(), plannedSteps: budget ? totalSteps : null, firstPlanSeconds: budget?.firstPlanSeconds ?? null };
    await saveCheckpoint(dir, {
      model,
      optimizer,
      epoch: state.epoch,
      step: state.globalStep,
      rng: { seed: settings.seed, state: { scheme: 'sfc32 keyed by (seed, purpose, epoch, step)', epoch: state.epoch, step: state.stepInEpoch } },
      trainerState: trainerState as unknown as JsonValue,
    });
  };
  const result = (status: TrainResult['status']): TrainResult => ({
    status,
    checkpoint: files.latest,
    records,
    globalStep: state.globalStep,
    totalSeconds: seconds(),
    lastRecord: state.lastRecord,
    state: { ...state, totalSeconds: seconds(), plannedSteps: budget ? totalSteps : null, firstPlanSeconds: budget?.firstPlanSeconds ?? null },
  });

  try {
    // A record finished before a kill but never logged is written now.
    const logged = await files.loggedEpochs();
    if (state.lastRecord !== null && !logged.has(state.lastRecord.epoch)) await files.appendLog(state.lastRecord);

    if (state.globalStep >= totalSteps && state.stepInEpoch === 0) {
      log(`the run has already finished ${state.epoch} epoch(s) (${state.globalStep} steps); pass a larger --epochs or --time-budget to train on`);
    }
    while (state.globalStep < totalSteps || state.stepInEpoch > 0) {
      const epoch = state.epoch;
      const order = epochOrder(data.train, settings.seed, epoch);
      const startStep = state.stepInEpoch;
      const resumedAtStep = options.resume && records.length === 0 && startStep > 0 ? startStep : null;
      let sums = startStep > 0 ? state.sums : ZERO_SUMS;
      const epochSteps = (): number => Math.max(startStep, Math.min(steps, totalSteps - epoch * steps));
      hooks.onEpochStart?.({ epoch: epoch + 1, epochs: epochsOf(totalSteps), steps: epochSteps(), startStep });
      let lr = learningRate(schedule, state.globalStep);

      const batchAt = (step: number): Promise<StepBatch> => {
        const pending = trainingBatch(all, order.subarray(step * batchSize, (step + 1) * batchSize), settings, epoch, step);
        // A prefetched batch a re-plan or an interrupt leaves unused must not become an unhandled rejection.
        pending.catch(() => undefined);
        return pending;
      };
      let nextBatch = startStep < epochSteps() ? batchAt(startStep) : null;
      for (let step = startStep; step < epochSteps(); step++) {
        const t0 = performance.now();
        lr = learningRate(schedule, state.globalStep);
        setLearningRate(optimizer, lr);
        const batch = await (nextBatch ?? batchAt(step));
        // The next batch (benign changes, JPEG round trips in libvips' threads) is assembled on the
        // main thread while the workers attack and differentiate this one.
        nextBatch = step + 1 < epochSteps() ? batchAt(step + 1) : null;
        const figures = await runner.step(batch, {
          attack,
          evasion,
          seed: hashSeed(settings.seed, 0xad, epoch, step),
          alpha: { alphaNat: alpha.alphaNat, alphaAdv: alpha.alphaAdv },
          // GAIRAT's burn-in: a share of the planned steps (re-planned with a time budget).
          reweight: state.globalStep >= settings.gairatBurnIn * totalSteps,
        });
        if (!Number.isFinite(figures.loss)) {
          throw new TrainError(
            'TRAIN_DIVERGED',
            `the loss became ${figures.loss} at epoch ${epoch + 1} step ${step + 1} (lr ${lr.toPrecision(3)}); lower --lr or resume from ${files.latest}`,
          );
        }
        if (objectiveFor(settings.mode).adaptiveAlpha) alpha.update(figures.lossNat, figures.lossAdv);
        const elapsed = (performance.now() - t0) / 1000;
        sums = accumulate(sums, figures, elapsed);
        state = { ...state, epoch, stepInEpoch: step + 1, globalStep: state.globalStep + 1, sums };
        if (budget) {
          const planned = budget.afterStep(elapsed, state, seconds());
          if (planned !== totalSteps) {
            totalSteps = planned;
            schedule = scheduleFor(totalSteps);
          }
        }
        hooks.onStep?.({
          epoch: epoch + 1,
          epochs: epochsOf(totalSteps),
          step: step + 1,
          steps: epochSteps(),
          globalStep: state.globalStep,
          totalSteps,
          stepSeconds: sums.trainSeconds / sums.steps,
          figures,
          epochLoss: sums.loss / sums.steps,
          epochAcc: sums.correctClean / sums.count,
          imagesPerSecond: sums.count / sums.trainSeconds,
          lr,
          budgetLeftSeconds: budget ? budget.leftSeconds(seconds()) : null,
        });
        // Training is synchronous tfjs work: yield once per step so signals (Ctrl-C) get through.
        await new Promise((r) => setImmediate(r));
        const lastStep = step + 1 >= epochSteps();
        if (!lastStep && settings.checkpointEvery > 0 && state.globalStep % settings.checkpointEvery === 0) await save(files.latest);
        if (!lastStep && options.signal?.aborted) {
          await save(files.latest);
          log(`interrupted at epoch ${epoch + 1} step ${step + 1}; saved ${files.latest} (continue with --resume)`);
          return result('interrupted');
        }
      }

      const v0 = performance.now();
      const val = await validate(model, all, data.val, data.pgdVal, {
        batchSize: Math.max(batchSize, 256),
        eps: settings.eps,
        attackSteps: settings.valAttackSteps,
        attackStepSize: settings.eps / 4,
        adaptiveLambdas: settings.valAdaptiveLambdas,
        squareQueries: settings.valSquareQueries,
        seed: hashSeed(settings.seed, 0x7a1, epoch),
      });
      const overfit = catastrophicOverfitting(state.valHistory, val);
      const collapse = robustnessCollapse(state.valHistory, val);
      const isBest = val.wRobust !== null && (state.best === null || val.wRobust > state.best.valWRobust);
      const valSeconds = (performance.now() - v0) / 1000;
      const record = epochRecord({
        epoch: epoch + 1,
        epochs: epochsOf(totalSteps),
        sums,
        hasRouter,
        val,
        valSeconds,
        lr,
        alpha,
        resumedAtStep,
        best: isBest,
        catastrophicOverfitting: overfit,
        robustnessCollapse: collapse,
        budgetLeftSeconds: budget ? budget.leftSeconds(seconds()) : null,
      });
      state = {
        ...state,
        epoch: epoch + 1,
        stepInEpoch: 0,
        sums: ZERO_SUMS,
        lastRecord: record,
        valHistory: [...state.valHistory, { pgdAcc: val.pgdAcc, fgsmAcc: val.fgsmAcc, worstAcc: val.worstAcc }],
        overfitEpochs: overfit ? [...state.overfitEpochs, epoch + 1] : state.overfitEpochs,
        best:
          isBest && val.wRobust !== null && val.worstAcc !== null
            ? { epoch: epoch + 1, globalStep: state.globalStep, valWRobust: val.wRobust, valCleanAcc: val.cleanAcc, valWorstAcc: val.worstAcc }
            : state.best,
      };
      if (overfit) {
        log(
          `!!! CATASTROPHIC OVERFITTING at epoch ${epoch + 1}: validation PGD accuracy fell to ${(100 * (val.pgdAcc ?? 0)).toFixed(1)} % ` +
            `while FGSM accuracy holds at ${(100 * (val.fgsmAcc ?? 0)).toFixed(1)} %. The single-step attack no longer finds adversarial examples; ` +
            `the best checkpoint (${files.best}, epoch ${state.best?.epoch ?? '–'}) is kept. Lower --lr, use --attack n-fgsm or a multi-step attack.`,
        );
      }
      if (collapse && !overfit) {
        const bestWorst = Math.max(...state.valHistory.map((h) => h.worstAcc ?? 0));
        log(
          `!!! ROBUSTNESS COLLAPSE at epoch ${epoch + 1}: the validation worst case fell to ${(100 * (val.worstAcc ?? 0)).toFixed(1)} % ` +
            `from its best ${(100 * bestWorst).toFixed(1)} % (FGSM ${(100 * (val.fgsmAcc ?? 0)).toFixed(1)} %, PGD ${(100 * (val.pgdAcc ?? 0)).toFixed(1)} %). ` +
            `The best checkpoint (${files.best}, epoch ${state.best?.epoch ?? '–'}) is kept; see docs/training.md on step size and β.`,
        );
      }
      await save(files.epochCheckpoint(epoch + 1));
      await save(files.latest);
      if (isBest) {
        await save(files.best);
        await files.writeJson(files.bestMarker, { ...state.best, checkpoint: files.best, epochCheckpoint: files.epochCheckpoint(epoch + 1) });
      }
      await files.appendLog(record);
      records.push(record);
      hooks.onEpochEnd?.(record);
      if (budget) {
        // What the budget plans with: the validation and the checkpoint saves that follow it.
        const validationSeconds = (performance.now() - v0) / 1000;
        totalSteps = budget.afterValidation(validationSeconds, state, seconds());
        schedule = scheduleFor(totalSteps);
        state = { ...state, validationSeconds };
      }
      if (options.signal?.aborted && state.globalStep < totalSteps) {
        log(`interrupted after epoch ${epoch + 1}; saved ${files.latest} (continue with --resume)`);
        return result('interrupted');
      }
    }
    return result('finished');
  } finally {
    await runner.close();
    model.dispose();
    disposeOptimizer(optimizer);
    teachers?.clean.dispose();
    teachers?.adv.dispose();
  }
}
