import { SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { existingCheckpoint } from '../contract/run-directory.js';
import { parseDatasetName } from '../data/load.js';
import { DATASET_NAMES, type DatasetName } from '../data/types.js';
import { benignEvaluationSet } from '../data/corruptions.js';
import { ATTACK_IDS, ATTACK_PRESETS, parseLambdaList, TARGET_ADAPTIVE_LAMBDAS } from '../eval/attack-suite.js';
import { describeVersions } from '../eval/autoattack-suite.js';
import { holdChanges } from '../eval/hold-sweep.js';
import type { ProgressEvent } from '../eval/evaluate.js';
import { DEFAULT_CURVE_STEPS, runEvaluation } from '../eval/run-evaluation.js';
import { parseThresholdChoice, type ThresholdChoice } from '../eval/threshold.js';
import { EVAL_SPLITS, type EvalSplit } from '../eval/validation-set.js';
import { BACKEND_NAMES, type BackendName } from '../tf/backend.js';
import { asOption, listOf, mixCapList, nameList, nonNegativeInt, numberIn, omegaBoundList, positiveInt, rate } from './options.js';
import { action } from './report.js';

interface EvaluateFlags {
  readonly dataset: DatasetName;
  readonly dataDir?: string;
  readonly split: EvalSplit;
  readonly mixCap?: number[];
  readonly omegaBound?: (number | null)[];
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

const datasetName = asOption((value: string): DatasetName => parseDatasetName(value));

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
    .argument('<checkpoints...>', 'checkpoint directories, or training run directories (their latest checkpoint)')
    .addOption(new Option('--dataset <name>', `test set: ${DATASET_NAMES.join(', ')}`).default('fashion-mnist').argParser(datasetName))
    .option('--data-dir <dir>', "the dataset's directory (default: the dataset's usual place)")
    .addOption(
      new Option('--split <name>', "test: the dataset's test split; validation: the images the first checkpoint's training run held out (choose settings here, measure the test set only for what ships)")
        .choices([...EVAL_SPLITS])
        .default('test'),
    )
    .option('--limit <n>', 'evaluate only the first n images (clean, benign changes and attacks)', positiveInt)
    .option('--attack-limit <n>', 'attack only the first n of those (worst case and curve too); clean and benign figures keep all of them (default: all)', positiveInt)
    .option('--batch-size <n>', 'images per batch (clean, benign and attacked)', positiveInt, 200)
    .option('--eps <eps>', 'L∞ budget, e.g. 0.1 or 8/255 (default: 0.1 for fashion-mnist, 8/255 otherwise)', numberIn(1e-9, 1))
    .option('--seed <n>', 'seed of the random starts and the benign noise', nonNegativeInt, 0)
    .option(
      '--attacks <ids>',
      `comma-separated subset of: ${ATTACK_IDS.join(', ')} (adaptive: one per λ, ids adaptive-l<λ> when there are several), or the presets ${Object.entries(ATTACK_PRESETS)
        .map(([name, ids]) => `${name} (${ids.join(', ')})`)
        .join(', ')}. ${describeVersions()}. AutoAttack (aa, aa-fast) runs APGD-CE, APGD-T, FAB-T and Square each only on the images still robust and reports each part's robust accuracy, seconds and queries; ` +
        'name its attacks to run them (default: all but the AutoAttack family)',
      nameList,
    )
    .option(
      '--adaptive-lambda <list>',
      `λ of the adaptive attack's router term; a list such as 1,10 runs one adaptive attack per λ (default: 1; ${TARGET_ADAPTIVE_LAMBDAS.join(',')} with a preset)`,
      asOption(parseLambdaList),
    )
    .option(
      '--mix-cap <list>',
      "evaluate each checkpoint with a router once per cap on the P(clean) its MixBN mixes with, min(P(clean), c), named <name>@cap<c> (the adversarial score is not capped; default: the hold the checkpoint records)",
      mixCapList,
    )
    .option('--omega-bound <list>', 'likewise once per bound b on the filter scaling, ω clipped to [1 − b, 1 + b] (none: unbounded); with --mix-cap, every pair', omegaBoundList)
    .option('--worst-case <ids>', 'attacks the per-image worst case spans, named as in --attacks (default: every attack run)', nameList)
    .option('--benign <ids>', `comma-separated subset of the benign changes: ${benignEvaluationSet(0.1).map((b) => b.id).join(', ')} (default: all)`, nameList)
    .option('--no-benign', 'skip the benign changes')
    .option(
      '--threshold <list>',
      'flagging threshold per checkpoint (one for all, or one each): a number in [0, 1], or an exported model (.onnx or its .json) whose threshold the service uses (default: calibrated as export does)',
      listOf(asOption(parseThresholdChoice), '0.5,models/a.onnx'),
    )
    .option('--fpr <rate>', 'target false-positive rate of the calibrated threshold on clean validation images, as export --fpr', rate, 0.01)
    .option('--calibration-size <n>', 'calibrate on the first n validation images, as export --calibration-size (default: all)', positiveInt)
    .option('--val-size <n>', 'validation images held out in training, as export --val-size (default: what the run recorded)', positiveInt)
    .option('--split-seed <n>', "seed of the train/validation split, as export --split-seed (default: the run's seed)", nonNegativeInt)
    .option('--curve-eps <list>', 'eps values of the robustness curve (default: 0, ¼, ½, ¾, 1, 1½, 2 × eps)', listOf(numberIn(0, 1), '0,0.05,0.1'))
    .option('--curve-steps <n>', 'PGD steps per robustness-curve point (step eps/4)', positiveInt, DEFAULT_CURVE_STEPS)
    .option('--no-curve', 'skip the robustness curve')
    .option('--curve-out <path>', 'path of the curve files, with or without .svg/.png (both are written; default: beside --out)')
    .option('--name <names>', 'comma-separated display names, one per checkpoint', nameList)
    .option('--out <file>', 'write the full report as JSON')
    .addOption(new Option('--backend <name>', 'force a TensorFlow.js backend (else AWNET_TF_BACKEND, else the best available)').choices([...BACKEND_NAMES]))
    .option('--workers <n>', 'worker threads, each with its own backend (the wasm backend uses one core each)', positiveInt, 1)
    .option('--no-progress', 'no progress bar')
    .action(async (paths: string[], flags: EvaluateFlags) => {
      const bar = progressBar(flags.progress);
      await action('evaluate', () => evaluate(paths, flags, bar), bar.stop)();
    });
}

async function evaluate(paths: readonly string[], flags: EvaluateFlags, bar: ReturnType<typeof progressBar>): Promise<void> {
  // A run directory means its latest checkpoint, labelled by the run's name (as export reads it).
  const found = await Promise.all(paths.map(existingCheckpoint));
  const result = await runEvaluation({
    checkpoints: found.map((c) => c.dir),
    names: flags.name ?? found.map((c) => c.label),
    dataset: flags.dataset,
    dataDir: flags.dataDir,
    split: flags.split,
    limit: flags.limit,
    holds: holdChanges(flags.mixCap, flags.omegaBound),
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
}
