import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { VARIANTS } from '../model/architecture.js';
import { CHECKPOINT_JSON } from '../model/checkpoint-format.js';
import { ModelError } from '../model/errors.js';

/**
 * Where the train command puts a run's checkpoints: `<run>/checkpoints/<name>`, with `latest`
 * always the newest. Every command that reads a checkpoint (evaluate, export, train's
 * teachers) accepts a checkpoint directory or a run directory by these same rules.
 */
export const CHECKPOINTS_DIR = 'checkpoints';
export const LATEST = 'latest';

export interface CheckpointRef {
  /** The checkpoint directory itself (it holds checkpoint.json). */
  readonly dir: string;
  /** How reports name it: the run's name, with the checkpoint's unless it is the latest. */
  readonly label: string;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * `runs/awnet` and `runs/awnet/checkpoints/latest` are both "awnet";
 * `runs/awnet/checkpoints/best` is "awnet/best"; any other directory is its own name.
 */
export function checkpointLabel(dir: string): string {
  const abs = resolve(dir);
  const parent = dirname(abs);
  if (basename(parent) !== CHECKPOINTS_DIR) return basename(abs);
  const run = basename(dirname(parent));
  return basename(abs) === LATEST ? run : `${run}/${basename(abs)}`;
}

/** The checkpoint `path` names (itself, or a run's latest), or null when it names neither. */
export async function findCheckpoint(path: string): Promise<CheckpointRef | null> {
  if (await isFile(join(path, CHECKPOINT_JSON))) return { dir: path, label: checkpointLabel(path) };
  const latest = join(path, CHECKPOINTS_DIR, LATEST);
  if (await isFile(join(latest, CHECKPOINT_JSON))) return { dir: latest, label: checkpointLabel(latest) };
  return null;
}

/**
 * The command that creates a training run at `path`. A run directory named after a variant
 * (the README's `runs/awnet`, `runs/static`) trains that variant.
 */
export function trainCommandFor(path: string): string {
  const variant = VARIANTS.find((v) => v === basename(resolve(path)));
  return `npm run awnet -- train ${variant === undefined ? '' : `--variant ${variant} `}--out ${path}`;
}

/**
 * Like findCheckpoint, but a path that names no checkpoint is kept as given, so the
 * checkpoint loader reports what is missing there in its own words.
 */
export async function checkpointOrSelf(path: string): Promise<CheckpointRef> {
  return (await findCheckpoint(path)) ?? { dir: path, label: checkpointLabel(path) };
}

/**
 * Like checkpointOrSelf, but a path that does not exist at all is reported here, with the
 * command that would create the run (the evaluate command's inputs).
 */
export async function existingCheckpoint(path: string): Promise<CheckpointRef> {
  const found = await findCheckpoint(path);
  if (found) return found;
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (!exists) {
    throw new ModelError('CHECKPOINT_MISSING', `${path} does not exist: neither a checkpoint nor a training run; \`${trainCommandFor(path)}\` creates the run (README, "The pipeline")`);
  }
  return { dir: path, label: checkpointLabel(path) };
}
