import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDatasetName } from '../data/load.js';
import { DATASET_NAMES, type DatasetName } from '../data/types.js';
import { benignEvaluationSet } from '../data/corruptions.js';
import { ATTACK_IDS, ATTACK_PRESETS, parseLambdaList, TARGET_ADAPTIVE_LAMBDAS } from '../eval/attack-suite.js';
import { describeVersions } from '../eval/autoattack-suite.js';
import type { ProgressEvent } from '../eval/evaluate.js';
import { DEFAULT_CURVE_STEPS, runEvaluation } from '../eval/run-evaluation.js';
import { parseThresholdChoice, type ThresholdChoice } from '../eval/threshold.js';
import { BACKEND_NAMES, type BackendName } from '../tf/backend.js';

interface EvaluateFlags {
  readonly dataset: DatasetName;
  readonly dataDir?: string;
  readonly limit?: number;
  readonly attackLimit?: number;
  readonly batchSize: number;
  readonly eps?: number;
  readonly seed: number;
  readonly attacks?: string[];
  readonly adaptiveLambda?: number[];
  readonly worstCase?: string[];
  /** false with --no-benign, else the ids of --benign (undefined: all). */
  readonly benign?: boolean | string[];
  readonly threshold?: ThresholdChoice[];
  readonly fpr: number;
  readonly calibrationSize?: number;
  readonly valSize?: number;
  readonly splitSeed?: number;
  readonly curveEps?: number[];
  readonly curve: boolean;
  readonly curveSteps: number;
  readonly curveOut?: string;
  readonly name?: string[];
  readonly out?: string;
  readonly backend?: BackendName;
  readonly workers: number;
  readonly progress: boolean;
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be an integer >= 1; got "${value}"`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0; got "${value}"`);
    return n;
  };
}

/** A number in [min, max]; fractions such as 8/255 are accepted. */
function boundedNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    const fraction = /^\s*([0-9.]+)\s*\/\s*([0-9.]+)\s*$/.exec(value);
    const n = fraction ? Number(fraction[1]) / Number(fraction[2]) : Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}]; got "${value}"`);
    }
    return n;
  };
}

function fprRate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n < 1)) throw new InvalidArgumentError(`--fpr must be a number in (0, 1), e.g. 0.01; got "${value}"`);
  return n;
}

function list<T>(parse: (item: string) => T) {
  return (value: string): T[] =>
    value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(parse);
}

/** Turns a coded evaluation error into commander's message for a bad option value. */
function asArgument<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function datasetName(value: string): DatasetName {
  try {
    return parseDatasetName(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function progressBar(enabled: boolean): { onProgress?: (e: ProgressEvent) => void; stop: () => void } {
  // cli-progress draws nothing when stderr is not a terminal.
  if (!enabled) return { stop: () => undefined };
  const bar = new SingleBar({
    format: 'evaluate {bar} {percentage}% | {value}/{total} | {model}: {stage} | {duration_formatted} elapsed, ETA {eta_formatted}',
    hideCursor: true,
    etaBuffer: 50,
  });
  let started = false;
  return {
    onProgress: (e) => {
      if (!started) {
        bar.start(e.total, 0, { model: e.model, stage: e.stage });
        started = true;
      }
      bar.update(e.done, { model: e.model, stage: e.stage });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description(
      'Evaluate checkpoints side by side on a test set: clean accuracy, FGSM, PGD-20 (step eps/4 and eps/10), CW∞-30 and the adaptive attack (and on request AutoAttack and detector-aware APGD and Square); W-Robust Acc and router ROC-AUC per attack and for the per-image worst case; ' +
        'what the service would flag and let through at the threshold `export` calibrates; accuracy and flag rate under benign changes; a robustness curve (SVG and PNG).',
    )
    .argument('<checkpoints...>', 'checkpoint directories (as written by `train`)')
    .addOption(new Option('--dataset <name>', `test set: ${DATASET_NAMES.join(', ')}`).default('fashion-mnist').argParser(datasetName))
    .option('--data-dir <dir>', "the dataset's directory (default: the dataset's usual place)")
    .option('--limit <n>', 'evaluate only the first n test images (clean, benign changes and attacks)', positiveInt('--limit'))
    .option('--attack-limit <n>', 'attack only the first n of those (worst case and curve too); clean and benign figures keep all of them (default: all)', positiveInt('--attack-limit'))
    .option('--batch-size <n>', 'images per batch (clean, benign and attacked)', positiveInt('--batch-size'), 200)
    .option('--eps <eps>', 'L∞ budget, e.g. 0.1 or 8/255 (default: 0.1 for fashion-mnist, 8/255 otherwise)', boundedNumber('--eps', 1e-9, 1))
    .option('--seed <n>', 'seed of the random starts and the benign noise', nonNegativeInt('the seed'), 0)
    .option(
      '--attacks <ids>',
      `comma-separated subset of: ${ATTACK_IDS.join(', ')} (adaptive: one per λ, ids adaptive-l<λ> when there are several), or the presets ${Object.entries(ATTACK_PRESETS)
        .map(([name, ids]) => `${name} (${ids.join(', ')})`)
        .join(', ')}. ${describeVersions()}. AutoAttack (aa, aa-fast) runs APGD-CE, APGD-T, FAB-T and Square each only on the images still robust and reports each part's robust accuracy, seconds and queries; ` +
        'name its attacks to run them (default: all but the AutoAttack family)',
      list(String),
    )
    .option(
      '--adaptive-lambda <list>',
      `λ of the adaptive attack's router term; a list such as 1,10 runs one adaptive attack per λ (default: 1; ${TARGET_ADAPTIVE_LAMBDAS.join(',')} with a preset)`,
      asArgument(parseLambdaList),
    )
    .option('--worst-case <ids>', 'attacks the per-image worst case spans, named as in --attacks (default: every attack run)', list(String))
    .option('--benign <ids>', `comma-separated subset of the benign changes: ${benignEvaluationSet(0.1).map((b) => b.id).join(', ')} (default: all)`, list(String))
    .option('--no-benign', 'skip the benign changes')
    .option(
      '--threshold <list>',
      'flagging threshold per checkpoint (one for all, or one each): a number in [0, 1], or an exported model (.onnx or its .json) whose threshold the service uses (default: calibrated as export does)',
      list(asArgument(parseThresholdChoice)),
    )
    .option('--fpr <rate>', 'target false-positive rate of the calibrated threshold on clean validation images, as export --fpr', fprRate, 0.01)
    .option('--calibration-size <n>', 'calibrate on the first n validation images, as export --calibration-size (default: all)', positiveInt('--calibration-size'))
    .option('--val-size <n>', 'validation images held out in training, as export --val-size (default: what the run recorded)', positiveInt('--val-size'))
    .option('--split-seed <n>', "seed of the train/validation split, as export --split-seed (default: the run's seed)", nonNegativeInt('--split-seed'))
    .option('--curve-eps <list>', 'eps values of the robustness curve (default: 0, ¼, ½, ¾, 1, 1½, 2 × eps)', list(boundedNumber('--curve-eps', 0, 1)))
    .option('--curve-steps <n>', 'PGD steps per robustness-curve point (step eps/4)', positiveInt('--curve-steps'), DEFAULT_CURVE_STEPS)
    .option('--no-curve', 'skip the robustness curve')
    .option('--curve-out <base>', 'path base of the curve files (.svg and .png added; default: beside --out)')
    .option('--name <names>', 'comma-separated display names, one per checkpoint', list(String))
    .option('--out <file>', 'write the full report as JSON')
    .addOption(new Option('--backend <name>', 'force a TensorFlow.js backend (else AWNET_TF_BACKEND, else the best available)').choices([...BACKEND_NAMES]))
    .option('--workers <n>', 'worker threads, each with its own backend (the wasm backend uses one core each)', positiveInt('--workers'), 1)
    .option('--no-progress', 'no progress bar')
    .action(async (checkpoints: string[], flags: EvaluateFlags) => {
      const bar = progressBar(flags.progress);
      try {
        const result = await runEvaluation({
          checkpoints,
          names: flags.name,
          dataset: flags.dataset,
          dataDir: flags.dataDir,
          limit: flags.limit,
          attackLimit: flags.attackLimit,
          batchSize: flags.batchSize,
          eps: flags.eps,
          seed: flags.seed,
          attacks: flags.attacks,
          adaptiveLambdas: flags.adaptiveLambda,
          worstCase: flags.worstCase,
          benign: flags.benign,
          thresholds: flags.threshold,
          fpr: flags.fpr,
          calibrationSize: flags.calibrationSize,
          valSize: flags.valSize,
          splitSeed: flags.splitSeed,
          curveEps: flags.curve ? flags.curveEps : [],
          curveSteps: flags.curveSteps,
          curveOut: flags.curveOut,
          backend: flags.backend,
          workers: flags.workers,
          out: flags.out,
          onProgress: bar.onProgress,
        });
        bar.stop();
        process.stdout.write(`\n${result.table}`);
        for (const file of result.files) process.stderr.write(`wrote ${file}\n`);
      } catch (err) {
        bar.stop();
        const code = (err as { code?: unknown }).code;
        // Known failures (bad path, bad option, corrupt file) carry a stable code and read
        // best as one line; anything else is a bug and keeps its stack.
        const message = typeof code === 'string' ? `${(err as Error).message} [${code}]` : err instanceof Error ? (err.stack ?? err.message) : String(err);
        process.stderr.write(`awnet evaluate: ${message}\n`);
        process.exitCode = 1;
      }
    });
}
