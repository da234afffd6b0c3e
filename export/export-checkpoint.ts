import { access, constants, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { changedHold, type HoldChange } from '../src/model/router-hold.js';
import type { ArchConfig, RouterHold, Variant } from '../src/model/types.js';
import { writeFilesAtomic } from './atomic-write.js';
import { DEFAULT_FPR } from './calibrate.js';
import { calibrateThreshold, type CalibrationOptions } from './calibration-set.js';
import { loadModel, readMeta, resolveCheckpointDir, trainingRecord } from './checkpoint-source.js';
import { ExportError, isExportError } from './errors.js';
import { readEvaluation } from './evaluation.js';
import type { AwnetMetadata } from '../src/contract/model-contract.js';
import { DEFAULT_OPSET } from './onnx-graph.js';
import { buildMetadata, modelToOnnx } from './to-onnx.js';

export { DEFAULT_FPR };

/** Calibration (`fpr`, `calibrationSize`, dataset and split) defaults to what the training run recorded. */
export interface ExportOptions extends CalibrationOptions {
  /** A checkpoint directory, or a training run directory (its latest checkpoint). */
  readonly checkpoint: string;
  /** The `.onnx` file to write; the sidecar `<same name>.json` goes beside it. */
  readonly out: string;
  /** Model name in the metadata; default the output file's name without `.onnx`. */
  readonly name?: string;
  readonly version?: string;
  readonly expectPreset?: string;
  readonly expectVariant?: Variant;
  /** Training attack for the metadata; by default the one the run recorded. */
  readonly attackEps?: number;
  readonly attackSteps?: number;
  /** The evaluate command's JSON report, and which of its models this is. */
  readonly evaluation?: string;
  readonly evaluationModel?: string;
  readonly opset?: number;
  /** Changes the router's hold the checkpoint records (P(clean) cap, ω bound) before export. */
  readonly hold?: HoldChange;
  readonly created?: Date;
  /** Called once the cheap checks passed, before the model is loaded (e.g. to start a tfjs backend). */
  readonly beforeLoad?: () => Promise<void>;
}

export interface ExportResult {
  readonly out: string;
  readonly sidecar: string;
  readonly checkpoint: string;
  readonly metadata: AwnetMetadata;
  readonly bytes: number;
  readonly opTypes: readonly string[];
  readonly seconds: number;
}

const badOption = (message: string): never => {
  throw new ExportError('EXPORT_BAD_OPTION', message);
};

function checkOptions(o: ExportOptions): void {
  if (extname(o.out) !== '.onnx') badOption(`--out ${o.out} must name a .onnx file`);
  const fpr = o.fpr ?? DEFAULT_FPR;
  if (!(fpr > 0 && fpr < 1)) badOption(`--fpr ${fpr} is invalid: the target false-positive rate must lie in (0, 1), e.g. 0.01`);
  const positiveInt = (flag: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) badOption(`${flag} ${v} is invalid: expected an integer ≥ 1`);
  };
  positiveInt('--calibration-size', o.calibrationSize);
  positiveInt('--val-size', o.valSize);
  if (o.splitSeed !== undefined && !(Number.isInteger(o.splitSeed) && o.splitSeed >= 0)) {
    badOption(`--split-seed ${o.splitSeed} is invalid: expected an integer ≥ 0`);
  }
  if (o.attackEps !== undefined && !(o.attackEps >= 0 && o.attackEps <= 1)) badOption(`--attack-eps ${o.attackEps} is invalid: expected a number in [0, 1]`);
  if (o.attackSteps !== undefined && !(Number.isInteger(o.attackSteps) && o.attackSteps >= 0)) {
    badOption(`--attack-steps ${o.attackSteps} is invalid: expected an integer ≥ 0`);
  }
  if (o.opset !== undefined && !(Number.isInteger(o.opset) && o.opset >= DEFAULT_OPSET)) {
    badOption(`--opset ${o.opset} is invalid: the model contract needs opset ≥ ${DEFAULT_OPSET}`);
  }
  if (o.name !== undefined && o.name.trim() === '') badOption('--name must not be empty');
  if (o.version !== undefined && o.version.trim() === '') badOption('--version must not be empty');
}

/** Fails early, before any heavy work, when the output cannot be written. */
async function checkWritable(out: string): Promise<void> {
  const dir = dirname(resolve(out));
  const unwritable = (why: string): never => {
    throw new ExportError('EXPORT_OUTPUT_UNWRITABLE', `cannot write ${out}: ${why}`);
  };
  const inTheWay = async (path: string): Promise<boolean> => {
    const s = await stat(path).catch(() => null);
    return s !== null && !s.isFile();
  };
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat) unwritable(`directory ${dir} does not exist`);
  if (!dirStat!.isDirectory()) unwritable(`${dir} is not a directory`);
  await access(dir, constants.W_OK).catch(() => unwritable(`directory ${dir} is not writable`));
  if (await inTheWay(out)) unwritable('a directory or other non-file is in the way');
  const sidecar = sidecarPath(out);
  if (await inTheWay(sidecar)) unwritable(`a directory or other non-file is in the way of its sidecar ${sidecar}`);
}

function heldFor(config: ArchConfig, change: HoldChange): RouterHold {
  try {
    return changedHold(config, change);
  } catch (err) {
    return badOption(`--mix-cap/--omega-bound: ${(err as Error).message}`);
  }
}

function sidecarPath(out: string): string {
  return join(dirname(out), `${basename(out, '.onnx')}.json`);
}

/**
 * checkpoint → `<out>.onnx` + `<out>.json`. The files appear complete or not at all: both
 * are staged and renamed into place only when everything succeeded.
 */
export async function exportCheckpoint(options: ExportOptions): Promise<ExportResult> {
  const started = Date.now();
  checkOptions(options);
  await checkWritable(options.out);
  const dir = await resolveCheckpointDir(options.checkpoint);
  const meta = await readMeta(dir, { preset: options.expectPreset, variant: options.expectVariant });
  const record = trainingRecord(meta.trainerState);
  const eps = options.attackEps ?? record.eps;
  const steps = options.attackSteps ?? record.attackSteps;
  if (eps === undefined || steps === undefined) {
    badOption(`checkpoint ${dir} does not record its training attack; pass --attack-eps and --attack-steps`);
  }
  const hold = options.hold === undefined ? undefined : heldFor(meta.config, options.hold);
  const exported = hold === undefined ? meta.config : { ...meta.config, hold };
  const evaluation =
    options.evaluation !== undefined ? await readEvaluation(options.evaluation, dir, exported, options.evaluationModel) : undefined;
  await options.beforeLoad?.();

  const loaded = await loadModel(dir, hold);
  try {
    options.log?.(`loaded ${dir}: ${meta.config.preset} ${meta.config.variant}, epoch ${meta.epoch}, step ${meta.step}`);
    const cal = await calibrateThreshold(loaded.model, options, record);
    const metadata = buildMetadata({
      config: loaded.config,
      name: options.name ?? basename(options.out, '.onnx'),
      version: options.version ?? '1.0.0',
      dataset: cal.dataset,
      labels: cal.labels,
      threshold: cal.threshold,
      calibrationSplit: cal.split,
      trainingAttack: { eps: eps!, steps: steps!, ...(record.attack !== undefined ? { name: record.attack } : {}) },
      ...(evaluation !== undefined ? { evaluation } : {}),
      ...(options.created !== undefined ? { created: options.created } : {}),
    });
    const onnx = modelToOnnx(loaded.model, metadata, options.opset ?? DEFAULT_OPSET);
    const sidecar = sidecarPath(options.out);
    try {
      // The sidecar is renamed into place first, so the .onnx (what the service loads)
      // appears last, when everything else has succeeded.
      await writeFilesAtomic([
        { path: sidecar, data: `${JSON.stringify(metadata, null, 2)}\n` },
        { path: options.out, data: onnx.bytes },
      ]);
    } catch (err) {
      throw new ExportError('EXPORT_OUTPUT_UNWRITABLE', `cannot write ${options.out} and ${sidecar}: ${(err as Error).message}`, { cause: err });
    }
    return {
      out: options.out,
      sidecar,
      checkpoint: dir,
      metadata,
      bytes: onnx.bytes.byteLength,
      opTypes: onnx.opTypes,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (err) {
    if (isExportError(err)) throw err;
    // Dataset errors carry their own code; keep it visible in the message.
    const code = (err as { code?: unknown }).code;
    if (code === 'DATA_BAD_OPTION') throw new ExportError('EXPORT_BAD_OPTION', (err as Error).message, { cause: err });
    if (typeof code === 'string' && code.startsWith('DATA_')) {
      throw new ExportError('EXPORT_CALIBRATION_FAILED', `cannot load the calibration images: ${(err as Error).message} [${code}]`, { cause: err });
    }
    throw err;
  } finally {
    loaded.model.dispose();
  }
}
