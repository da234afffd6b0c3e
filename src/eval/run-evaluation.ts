import { basename, dirname, join, resolve } from 'node:path';
import { DATASETS, loadDataset } from '../data/load.js';
import type { DatasetName } from '../data/types.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { initBackend, type BackendName } from '../tf/backend.js';
import { attackSuite, selectAttacks } from './attack-suite.js';
import { EvalError } from './errors.js';
import { checkCompatible, checkOptions, evaluateModels, type EvalModel, type ProgressEvent } from './evaluate.js';
import { evaluateInWorkers } from './parallel.js';
import type { EvaluationReport } from './report.js';
import { formatTable } from './table.js';
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
  readonly limit?: number;
  readonly batchSize: number;
  /** Default: the dataset's eps (0.1 for Fashion-MNIST, 8/255 for CIFAR-10). */
  readonly eps?: number;
  readonly seed: number;
  readonly attacks?: readonly string[];
  readonly adaptiveLambda?: number;
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

function curvePaths(options: RunEvaluationOptions): { svg: string; png: string } | null {
  const base = options.curveOut ?? (options.out ? join(dirname(options.out), `${basename(options.out).replace(/\.json$/i, '')}-curve`) : null);
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
  const eps = options.eps ?? DATASETS[options.dataset].defaultEps;
  const attacks = selectAttacks(attackSuite(eps, { adaptiveLambda: options.adaptiveLambda }), options.attacks);
  const curveEps = options.curveEps ?? CURVE_EPS_MULTIPLES.map((m) => Number((m * eps).toPrecision(6)));
  const curveSteps = options.curveSteps ?? DEFAULT_CURVE_STEPS;

  const backend = await initBackend({ backend: options.backend, log });
  const models: EvalModel[] = [];
  try {
    for (const [i, checkpoint] of options.checkpoints.entries()) {
      const loaded = await loadCheckpoint(checkpoint);
      models.push({ name: names[i] ?? checkpoint, checkpoint, model: loaded.model });
      log(`loaded ${checkpoint}: ${loaded.config.preset} ${loaded.config.variant}, epoch ${loaded.epoch}`);
    }
    const first = models[0]?.model.config.input;
    const data = await loadDataset(options.dataset, {
      split: 'test',
      dataDir: options.dataDir,
      limit: options.limit,
      shape: first === undefined ? undefined : { ...first },
    });
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new EvalError('EVAL_BAD_OPTION', `workers must be an integer >= 1; got ${workers}`);
    }
    log(
      `evaluating ${models.length} model(s) on ${data.count} ${data.name} ${data.split} images, eps ${eps}` +
        (workers > 1 ? `, ${workers} worker threads` : ''),
    );
    const evalOptions = {
      eps,
      batchSize: options.batchSize,
      seed: options.seed,
      attacks,
      curveEps,
      curveSteps,
      backend: backend.backend,
      onProgress: options.onProgress,
    };
    let report: EvaluationReport;
    if (workers === 1) {
      report = await evaluateModels(models, data, evalOptions);
    } else {
      checkOptions(evalOptions, data);
      for (const m of models) checkCompatible(m, data);
      const described = models.map((m) => ({
        name: m.name,
        checkpoint: m.checkpoint,
        preset: m.model.config.preset,
        variant: m.model.config.variant,
      }));
      // The workers load their own copies; free these before they do.
      for (const m of models.splice(0)) m.model.dispose();
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
    for (const m of models) m.model.dispose();
  }
}
