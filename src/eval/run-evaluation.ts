import { basename, dirname, join, resolve } from 'node:path';
import { DEFAULT_FPR } from '../../export/calibrate.js';
import type { CalibrationOptions } from '../../export/calibration-set.js';
import { trainingRecord, type TrainingRecord } from '../../export/checkpoint-source.js';
import { DATASETS, loadDataset } from '../data/load.js';
import type { DatasetName } from '../data/types.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../model/checkpoint.js';
import { holdLabel, holdOf, isFree, type HoldChange } from '../model/router-hold.js';
import { initBackend, type BackendName } from '../tf/backend.js';
import { DEFAULT_ADAPTIVE_LAMBDAS, evaluationSuite, expandAttackIds, namesPreset, selectAttacks, TARGET_ADAPTIVE_LAMBDAS } from './attack-suite.js';
import { benignSettings } from './benign.js';
import { EvalError } from './errors.js';
import { checkCompatible, checkOptions, evaluateModels, type EvalDataset, type EvalModel, type ProgressEvent } from './evaluate.js';
import { evaluationEntries } from './hold-sweep.js';
import { evaluateInWorkers } from './parallel.js';
import type { EvaluationReport, ThresholdReport } from './report.js';
import { formatTable } from './table.js';
import { describeThreshold, resolveThreshold, type ThresholdChoice } from './threshold.js';
import { validationDataset, type EvalSplit } from './validation-set.js';
import { writeCurveFiles, writeFileAtomic } from './write-files.js';

/** Default robustness-curve points, as multiples of the evaluation eps. */
export const CURVE_EPS_MULTIPLES = [0, 0.25, 0.5, 0.75, 1, 1.5, 2] as const;
export const DEFAULT_CURVE_STEPS = 10;

export interface RunEvaluationOptions {
  readonly checkpoints: readonly string[];
  /** Display names, one per checkpoint; default the checkpoint directory's name. */
  readonly names?: readonly string[];
  readonly dataset: DatasetName;
  readonly dataDir?: string;
  /** `test` (default), or the validation images the first checkpoint's training run held out. */
  readonly split?: EvalSplit;
  /** Evaluate every checkpoint with a router once per change of its router hold (see hold-sweep.ts). */
  readonly holds?: readonly HoldChange[];
  /** Evaluate the first n test images (clean and benign); default all. */
  readonly limit?: number;
  /** Attack (worst case, curve) only the first n of those; default all of them. */
  readonly attackLimit?: number;
  readonly batchSize: number;
  /** Default: the dataset's eps (0.1 for Fashion-MNIST, 8/255 for CIFAR-10). */
  readonly eps?: number;
  readonly seed: number;
  /** Attack ids, `adaptive` (every λ) or a preset name (`target`, `autoattack`, `autoattack-fast`); default all but the AutoAttack family. */
  readonly attacks?: readonly string[];
  /** One adaptive attack per λ; default [1], or [1, 10] when `attacks` names a preset. */
  readonly adaptiveLambdas?: readonly number[];
  /** Attacks the worst case spans (same names as `attacks`); default every attack run. */
  readonly worstCase?: readonly string[];
  /** Benign changes: true (default) for all of `benignEvaluationSet`, false for none, or their ids. */
  readonly benign?: boolean | readonly string[];
  /** Thresholds: one for every checkpoint or one each; default calibrated as `export` does. */
  readonly thresholds?: readonly ThresholdChoice[];
  /** Calibration as `export` does it; default FPR 1 %, all held-out validation images. */
  readonly fpr?: number;
  readonly calibrationSize?: number;
  readonly valSize?: number;
  readonly splitSeed?: number;
  /** Curve eps values; default CURVE_EPS_MULTIPLES × eps; empty for no curve. */
  readonly curveEps?: readonly number[];
  readonly curveSteps?: number;
  readonly backend?: BackendName;
  /** Worker threads to spread batches over (each runs its own backend); default 1 = in process. */
  readonly workers?: number;
  /** JSON report path. */
  readonly out?: string;
  /** Path base of the curve files (`.svg`, `.png` appended); default beside `out`. */
  readonly curveOut?: string;
  readonly log?: (line: string) => void;
  readonly onProgress?: (event: ProgressEvent) => void;
}

export interface RunEvaluationResult {
  readonly report: EvaluationReport;
  readonly table: string;
  readonly files: readonly string[];
}

function uniqueNames(checkpoints: readonly string[], names: readonly string[] | undefined): string[] {
  if (names !== undefined && names.length !== checkpoints.length) {
    throw new EvalError(
      'EVAL_BAD_OPTION',
      `${names.length} names given for ${checkpoints.length} checkpoints; give one name per checkpoint`,
    );
  }
  const chosen = names ? [...names] : checkpoints.map((c) => basename(resolve(c)));
  const seen = new Map<string, number>();
  return chosen.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n} (${k})`;
  });
}

function worstCaseIds(attacks: Parameters<typeof expandAttackIds>[0], names: readonly string[]): string[] {
  try {
    return expandAttackIds(attacks, names);
  } catch (err) {
    throw new EvalError('EVAL_BAD_OPTION', `the worst case can span only attacks that run: ${(err as Error).message}`);
  }
}

function checkCounts(options: RunEvaluationOptions): void {
  const fpr = options.fpr ?? DEFAULT_FPR;
  if (!(fpr > 0 && fpr < 1)) throw new EvalError('EVAL_BAD_OPTION', `the target false-positive rate must lie in (0, 1); got ${fpr}`);
  const ints: [string, number | undefined, number][] = [
    ['attack limit', options.attackLimit, 1],
    ['calibration size', options.calibrationSize, 1],
    ['validation size', options.valSize, 1],
    ['split seed', options.splitSeed, 0],
  ];
  for (const [name, v, min] of ints) {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new EvalError('EVAL_BAD_OPTION', `${name} must be an integer >= ${min}; got ${v}`);
  }
  const t = options.thresholds;
  if (t !== undefined && t.length !== 1 && t.length !== options.checkpoints.length) {
    throw new EvalError('EVAL_BAD_OPTION', `${t.length} thresholds given for ${options.checkpoints.length} checkpoints; give one for all or one per checkpoint`);
  }
}

/**
 * What `export` would calibrate on: the run's recorded dataset and split. A checkpoint that
 * does not record its run is calibrated on the evaluated dataset's training split, as
 * `export --dataset` would; `--data-dir` is used when it names that dataset.
 */
function calibrationOptions(options: RunEvaluationOptions, record: TrainingRecord): CalibrationOptions {
  const dataset = record.dataset ?? options.dataset;
  return {
    fpr: options.fpr ?? DEFAULT_FPR,
    ...(record.dataset === undefined ? { dataset } : {}),
    ...(options.dataDir !== undefined && dataset === options.dataset ? { dataDir: options.dataDir } : {}),
    ...(options.calibrationSize !== undefined ? { calibrationSize: options.calibrationSize } : {}),
    ...(options.valSize !== undefined ? { valSize: options.valSize } : {}),
    ...(options.splitSeed !== undefined ? { splitSeed: options.splitSeed } : {}),
  };
}

/** The images to evaluate on: the test split, or the first checkpoint's held-out validation images. */
async function evaluationData(options: RunEvaluationOptions, first: LoadedCheckpoint | undefined, log: (line: string) => void): Promise<EvalDataset> {
  if ((options.split ?? 'test') === 'test' || first === undefined) {
    return loadDataset(options.dataset, {
      split: 'test',
      dataDir: options.dataDir,
      limit: options.limit,
      shape: first === undefined ? undefined : { ...first.config.input },
    });
  }
  const record = trainingRecord(first.trainerState);
  return validationDataset(first.model, { ...calibrationOptions(options, record), log }, record, options.limit);
}

/** The curve's two files; a --curve-out given with either extension names the pair, not `x.svg.svg`. */
export function curvePaths(options: Pick<RunEvaluationOptions, 'curveOut' | 'out'>): { svg: string; png: string } | null {
  const given = options.curveOut?.replace(/\.(svg|png)$/i, '');
  const base = given ?? (options.out ? join(dirname(options.out), `${basename(options.out).replace(/\.json$/i, '')}-curve`) : null);
  return base === null ? null : { svg: `${base}.svg`, png: `${base}.png` };
}

/**
 * The `evaluate` command's work: start the tfjs backend, restore every checkpoint, load
 * the test split, run the suite on all models side by side, write the JSON report and
 * the robustness curve.
 */
export async function runEvaluation(options: RunEvaluationOptions): Promise<RunEvaluationResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (options.checkpoints.length === 0) {
    throw new EvalError('EVAL_BAD_OPTION', 'give at least one checkpoint directory to evaluate');
  }
  const names = uniqueNames(options.checkpoints, options.names);
  checkCounts(options);
  const eps = options.eps ?? DATASETS[options.dataset].defaultEps;
  const lambdas = options.adaptiveLambdas ?? (namesPreset(options.attacks) ? TARGET_ADAPTIVE_LAMBDAS : DEFAULT_ADAPTIVE_LAMBDAS);
  const attacks = selectAttacks(evaluationSuite(eps, { adaptiveLambdas: lambdas }), options.attacks);
  const worstCase = options.worstCase === undefined ? undefined : worstCaseIds(attacks, options.worstCase);
  const benign = options.benign === false ? [] : benignSettings(eps, options.benign === true ? undefined : options.benign);
  const curveSteps = options.curveSteps ?? DEFAULT_CURVE_STEPS;

  const backend = await initBackend({ backend: options.backend, log });
  const models: EvalModel[] = [];
  const loadedModels: { index: number; name: string; checkpoint: string; loaded: Awaited<ReturnType<typeof loadCheckpoint>> }[] = [];
  try {
    for (const { index, checkpoint, name, hold } of await evaluationEntries(options.checkpoints, names, options.holds)) {
      const loaded = await loadCheckpoint(checkpoint, { hold });
      loadedModels.push({ index, name, checkpoint, loaded });
      log(`loaded ${checkpoint}: ${loaded.config.preset} ${loaded.config.variant}, epoch ${loaded.epoch}${isFree(hold) ? '' : `, router hold ${holdLabel(hold)}`}`);
    }
    const data = await evaluationData(options, loadedModels[0]?.loaded, log);
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new EvalError('EVAL_BAD_OPTION', `workers must be an integer >= 1; got ${workers}`);
    }
    const attackCount = Math.min(options.attackLimit ?? data.count, data.count);
    const curveEps = options.curveEps ?? CURVE_EPS_MULTIPLES.map((m) => Number((m * eps).toPrecision(6)));
    const evalOptions = {
      eps,
      batchSize: options.batchSize,
      seed: options.seed,
      attacks,
      attackCount,
      benign,
      worstCase,
      curveEps,
      curveSteps,
      backend: backend.backend,
      onProgress: options.onProgress,
    };
    // Cheap checks first: calibration loads a training split.
    checkOptions(evalOptions, data);
    for (const { checkpoint, loaded } of loadedModels) checkCompatible({ checkpoint, model: loaded.model }, data);
    // The router's score does not depend on the hold: one threshold per checkpoint serves all its holds.
    const thresholds = new Map<number, ThresholdReport>();
    for (const { index, name, checkpoint, loaded } of loadedModels) {
      let threshold = thresholds.get(index);
      if (threshold === undefined) {
        const record = trainingRecord(loaded.trainerState);
        const choice = options.thresholds?.[options.thresholds.length === 1 ? 0 : index];
        const calibration = { ...calibrationOptions(options, record), log };
        threshold = await resolveThreshold(loaded.model, checkpoint, record, choice, calibration);
        thresholds.set(index, threshold);
      }
      log(`${name}: flagging threshold ${describeThreshold(threshold)}`);
      models.push({ name, checkpoint, model: loaded.model, threshold });
    }
    log(
      `evaluating ${models.length} model(s) on ${data.count} ${data.name} ${data.split} images` +
        (attackCount < data.count ? ` (attacks on the first ${attackCount})` : '') +
        `, eps ${eps}` +
        (workers > 1 ? `, ${workers} worker threads` : ''),
    );
    let report: EvaluationReport;
    if (workers === 1) {
      report = await evaluateModels(models, data, evalOptions);
    } else {
      const described = models.map((m) => ({
        name: m.name,
        checkpoint: m.checkpoint,
        preset: m.model.config.preset,
        variant: m.model.config.variant,
        hold: holdOf(m.model.config),
        threshold: m.threshold,
      }));
      // The workers load their own copies; free these before they do.
      for (const { loaded } of loadedModels.splice(0)) loaded.model.dispose();
      report = await evaluateInWorkers(described, data, {
        ...evalOptions,
        workers,
        backendName: backend.backend as BackendName,
      });
    }
    const files: string[] = [];
    if (options.out !== undefined) {
      await writeFileAtomic(options.out, `${JSON.stringify(report, null, 2)}\n`);
      files.push(options.out);
    }
    const paths = curvePaths(options);
    if (paths === null) log('no --out or --curve-out given: the JSON report and the robustness curve are not written');
    if (paths !== null && report.curveAttack !== null) {
      const series = report.models.map((m) => ({ name: m.name, points: m.curve }));
      await writeCurveFiles(series, paths, {
        title: `${report.dataset} ${report.split} (${report.count} images): accuracy vs L∞ eps`,
        xLabel: `L∞ eps (${report.curveAttack}, seed ${report.seed})`,
      });
      files.push(paths.svg, paths.png);
    }
    return { report, table: formatTable(report), files };
  } finally {
    for (const { loaded } of loadedModels.splice(0)) loaded.model.dispose();
  }
}
