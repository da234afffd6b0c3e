import { stat } from 'node:fs/promises';
import { CHECKPOINT_JSON, loadCheckpoint, readCheckpointMeta, type LoadedCheckpoint } from '../src/model/checkpoint.js';
import type { CheckpointMeta, JsonValue } from '../src/model/checkpoint.js';
import { ModelError } from '../src/model/errors.js';
import type { Variant } from '../src/model/types.js';
import { CHECKPOINTS_DIR, findCheckpoint, LATEST, trainCommandFor } from '../src/contract/run-directory.js';
import { ExportError } from './errors.js';

/** What the train command records about a run, as far as the export needs it. */
export interface TrainingRecord {
  readonly dataset?: string;
  readonly dataDir?: string;
  readonly limit?: number;
  readonly skipCorrupt?: boolean;
  readonly valSize?: number;
  readonly seed?: number;
  readonly eps?: number;
  readonly attackSteps?: number;
  /** The training attack's name (pgd, fgsm-rs, n-fgsm); runs before it was recorded used PGD. */
  readonly attack?: string;
  readonly mode?: string;
}

/**
 * A checkpoint directory, or a run directory of the train command (its newest checkpoint,
 * `checkpoints/latest`, is taken): the rule every command shares (src/contract/run-directory.ts).
 */
export async function resolveCheckpointDir(path: string): Promise<string> {
  const found = await findCheckpoint(path);
  if (found) return found.dir;
  const exists = await stat(path).then(() => true, () => false);
  throw new ExportError(
    'EXPORT_CHECKPOINT_NOT_FOUND',
    exists
      ? `${path} is not a checkpoint: it holds no ${CHECKPOINT_JSON} (nor ${CHECKPOINTS_DIR}/${LATEST}/${CHECKPOINT_JSON} of a training run)`
      : `checkpoint ${path} does not exist; pass a checkpoint directory (with ${CHECKPOINT_JSON} and weights.bin) or a training run directory (\`${trainCommandFor(path)}\` creates one)`,
  );
}

function translate(err: unknown, dir: string): never {
  if (err instanceof ModelError) {
    const code = err.code === 'CHECKPOINT_MISSING' ? 'EXPORT_CHECKPOINT_NOT_FOUND' : 'EXPORT_CHECKPOINT_INVALID';
    throw new ExportError(code, `cannot load checkpoint ${dir}: ${err.message}`, { cause: err });
  }
  throw err;
}

export interface Expectations {
  readonly preset?: string;
  readonly variant?: Variant;
}

/** Reads the checkpoint's description and checks the preset/variant the caller expects. */
export async function readMeta(dir: string, expect: Expectations): Promise<CheckpointMeta> {
  const meta = await readCheckpointMeta(dir).catch((err: unknown) => translate(err, dir));
  if (expect.preset !== undefined && meta.config.preset !== expect.preset) {
    throw new ExportError(
      'EXPORT_PRESET_MISMATCH',
      `checkpoint ${dir} holds preset "${meta.config.preset}" (${meta.config.variant}), but --expect-preset is "${expect.preset}"`,
    );
  }
  if (expect.variant !== undefined && meta.config.variant !== expect.variant) {
    throw new ExportError(
      'EXPORT_PRESET_MISMATCH',
      `checkpoint ${dir} holds variant "${meta.config.variant}" (${meta.config.preset}), but --expect-variant is "${expect.variant}"`,
    );
  }
  return meta;
}

export async function loadModel(dir: string): Promise<LoadedCheckpoint> {
  return loadCheckpoint(dir).catch((err: unknown) => translate(err, dir));
}

/** The train command's settings stored in `trainerState.settings`, or {} when absent. */
export function trainingRecord(trainerState: JsonValue | null): TrainingRecord {
  const settings = typeof trainerState === 'object' && trainerState !== null && !Array.isArray(trainerState) ? trainerState.settings : undefined;
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) return {};
  const num = (v: JsonValue | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const str = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  const record: Record<string, string | number | boolean> = {};
  const put = (key: keyof TrainingRecord, v: string | number | boolean | undefined): void => {
    if (v !== undefined) record[key] = v;
  };
  put('dataset', str(settings.dataset));
  put('dataDir', str(settings.dataDir));
  put('limit', num(settings.limit));
  put('skipCorrupt', typeof settings.skipCorrupt === 'boolean' ? settings.skipCorrupt : undefined);
  put('valSize', num(settings.valSize));
  put('seed', num(settings.seed));
  put('eps', num(settings.eps));
  put('attackSteps', num(settings.attackSteps));
  put('attack', str(settings.attack));
  put('mode', str(settings.mode));
  return record as TrainingRecord;
}
