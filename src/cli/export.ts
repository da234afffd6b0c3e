import { Option, type Command } from 'commander';
import { DEFAULT_FPR, exportCheckpoint, type ExportOptions } from '../../export/export-checkpoint.js';
import { DEFAULT_OPSET } from '../../export/onnx-graph.js';
import { DATASET_NAMES } from '../data/types.js';
import { VARIANTS } from '../model/architecture.js';
import { PRESET_NAMES } from '../model/presets.js';
import { BACKEND_NAMES, initBackend, type BackendName } from '../tf/backend.js';
import { mixCap, nonNegativeInt, nonNegativeNumber, omegaBound, positiveInt, rate } from './options.js';
import { action } from './report.js';

/** The command's flags: the export options as commander hands them over (defaults filled in) plus the backend. */
type ExportFlags = Omit<ExportOptions, 'fpr' | 'opset' | 'created' | 'beforeLoad' | 'log' | 'hold'> & {
  readonly fpr: number;
  readonly opset: number;
  readonly backend?: BackendName;
  readonly mixCap?: number;
  readonly omegaBound?: number | null;
};

function optionsFrom(f: ExportFlags, log: (line: string) => void): ExportOptions {
  const pick = <K extends keyof ExportFlags>(key: K): Partial<Pick<ExportFlags, K>> =>
    (f[key] !== undefined ? { [key]: f[key] } : {}) as Partial<Pick<ExportFlags, K>>;
  return {
    checkpoint: f.checkpoint,
    out: f.out,
    fpr: f.fpr,
    opset: f.opset,
    log,
    ...pick('name'),
    ...pick('version'),
    ...pick('expectPreset'),
    ...pick('expectVariant'),
    ...pick('calibrationSize'),
    ...pick('dataset'),
    ...pick('dataDir'),
    ...pick('valSize'),
    ...pick('splitSeed'),
    ...pick('skipCorrupt'),
    ...pick('attackEps'),
    ...pick('attackSteps'),
    ...pick('evaluation'),
    ...pick('evaluationModel'),
    ...(f.mixCap !== undefined || f.omegaBound !== undefined
      ? { hold: { ...(f.mixCap !== undefined ? { pCleanCap: f.mixCap } : {}), ...(f.omegaBound !== undefined ? { omegaBound: f.omegaBound } : {}) } }
      : {}),
  };
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'Export a checkpoint to ONNX (input pixels [N,C,H,W] in [0,1]; outputs logits, probabilities, adversarial_score) ' +
        'with its metadata and a flagging threshold calibrated on clean validation images; writes <out>.onnx and <out>.json.',
    )
    .requiredOption('--checkpoint <dir>', 'checkpoint directory, or a training run directory (its latest checkpoint)')
    .requiredOption('--out <file>', 'the .onnx file to write, e.g. models/fmnist-tiny-awnet.onnx')
    .option('--name <name>', 'model name (default: the output file name without .onnx)')
    .option('--version <version>', 'model version (default 1.0.0)')
    .addOption(new Option('--expect-preset <name>', 'fail unless the checkpoint holds this preset').choices(PRESET_NAMES))
    .addOption(new Option('--expect-variant <name>', 'fail unless the checkpoint holds this variant').choices(VARIANTS))
    .option('--fpr <rate>', 'target false-positive rate of the flagging threshold on clean validation images', rate, DEFAULT_FPR)
    .option('--calibration-size <n>', 'calibrate on the first N validation images (default: all of them)', positiveInt)
    .addOption(new Option('--dataset <name>', 'calibration dataset (default: the one the checkpoint was trained on)').choices(DATASET_NAMES))
    .option('--data-dir <dir>', 'dataset directory (default: the training run\'s, else the dataset\'s standard location)')
    .option('--val-size <n>', 'validation images held out in training (default: what the run recorded)', nonNegativeInt)
    .option('--split-seed <n>', 'seed of the train/validation split (default: the run\'s seed)', nonNegativeInt)
    .option('--skip-corrupt', 'skip corrupt dataset records instead of failing')
    .option('--attack-eps <x>', 'L∞ eps of the training attack for the metadata (default: what the run recorded)', nonNegativeNumber)
    .option('--attack-steps <n>', 'PGD steps of the training attack for the metadata (default: what the run recorded)', nonNegativeInt)
    .option('--evaluation <json>', 'the evaluate command\'s --out report; its figures for this model go into the metadata')
    .option('--evaluation-model <name>', 'which model of the evaluation report this is (default: matched by checkpoint)')
    .option('--mix-cap <c>', `cap on the P(clean) MixBN mixes with, min(P(clean), c), in [0, 1]; the adversarial score is not capped (default: what the checkpoint records, else 1)`, mixCap)
    .option('--omega-bound <b>', 'clip every filter scaling ω to [1 − b, 1 + b], or none (default: what the checkpoint records, else none)', omegaBound)
    .option('--opset <n>', `ONNX opset (≥ ${DEFAULT_OPSET})`, positiveInt, DEFAULT_OPSET)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend for calibration (default: best available; env AWNET_TF_BACKEND)').choices(BACKEND_NAMES))
    .action(
      action('export', async (flags: ExportFlags) => {
        const log = (line: string): void => {
          process.stdout.write(`${line}\n`);
        };
        const beforeLoad = async (): Promise<void> => {
          await initBackend({ ...(flags.backend !== undefined ? { backend: flags.backend } : {}), log });
        };
        const result = await exportCheckpoint({ ...optionsFrom(flags, log), beforeLoad });
        const t = result.metadata.threshold;
        log(
          `wrote ${result.out} (${(result.bytes / 1024).toFixed(1)} KiB) and ${result.sidecar} in ${result.seconds.toFixed(1)} s\n` +
            `  model ${result.metadata.name} ${result.metadata.version}: ${result.metadata.preset} ${result.metadata.variant}, ${result.metadata.labels.length} classes\n` +
            `  threshold ${t.value.toPrecision(6)} for FPR ${t.targetFpr} (observed ${t.observedFpr.toFixed(4)} on ${t.calibrationImages} clean validation images)` +
            `${result.metadata.router ? '' : '; no router: adversarial_score is always 0'}\n` +
            `  operators: ${result.opTypes.join(', ')}`,
        );
      }),
    );
}
