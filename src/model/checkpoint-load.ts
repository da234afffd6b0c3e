import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { createModel, type AwNet } from './awnet.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_JSON,
  CHECKPOINT_VERSION,
  WEIGHTS_BIN,
  type CheckpointMeta,
  type JsonValue,
  type RngState,
  type TensorEntry,
} from './checkpoint-format.js';
import { recoverInterruptedSave } from './checkpoint-files.js';
import { modelScope } from './checkpoint-save.js';
import { ModelError } from './errors.js';
import { validateConfig } from './presets.js';
import type { ArchConfig, Model, RouterHold, Variant } from './types.js';

export interface LoadCheckpointOptions {
  /** Fail with CHECKPOINT_MISMATCH unless the checkpoint holds this preset / variant. */
  readonly expect?: { readonly preset?: string; readonly variant?: Variant };
  /** tfjs variable scope of the restored model (automatic if omitted). */
  readonly scope?: string;
  /** Restore the model under this router hold instead of the one its configuration records. */
  readonly hold?: RouterHold;
}

export interface LoadedCheckpoint {
  readonly dir: string;
  readonly meta: CheckpointMeta;
  /** The restored model (the caller owns it and disposes it). */
  readonly model: AwNet;
  readonly config: ArchConfig;
  readonly epoch: number;
  readonly step: number;
  readonly rng: RngState | null;
  readonly trainerState: JsonValue | null;
  /** Class name of the saved optimizer, or null when none was saved. */
  readonly optimizerClassName: string | null;
  /**
   * Puts the saved slots into `optimizer` (same class; it must then be used with the variables
   * of `target`, default the restored model, in the same order as when it was saved).
   */
  restoreOptimizer(optimizer: tf.Optimizer, target?: Model): Promise<void>;
  /** A new optimizer of the saved class and config holding the saved slots, or null. */
  createOptimizer(target?: Model): Promise<tf.Optimizer | null>;
}

const fail = (code: 'CHECKPOINT_MISSING' | 'CHECKPOINT_CORRUPT' | 'CHECKPOINT_TRUNCATED' | 'CHECKPOINT_MISMATCH' | 'CHECKPOINT_OPTIMIZER', message: string, cause?: unknown): never => {
  throw new ModelError(code, message, cause === undefined ? undefined : { cause });
};

function checkEntries(file: string, label: string, entries: unknown, total: number): asserts entries is TensorEntry[] {
  if (!Array.isArray(entries)) fail('CHECKPOINT_CORRUPT', `${file}: "${label}" is not a list of tensors`);
  for (const e of entries as TensorEntry[]) {
    const size = Array.isArray(e?.shape) ? e.shape.reduce((a, b) => a * b, 1) : NaN;
    const ok =
      typeof e?.name === 'string' &&
      (e.dtype === 'float32' || e.dtype === 'int32') &&
      Number.isInteger(e.offset) &&
      e.offset >= 0 &&
      e.byteLength === size * 4 &&
      e.offset + e.byteLength <= total;
    if (!ok) fail('CHECKPOINT_CORRUPT', `${file}: ${label} entry ${JSON.stringify(e)} is malformed or lies outside the weights`);
  }
}

/**
 * Reads and checks `checkpoint.json` alone (no weights). If `dir` is missing because a save
 * was killed between its two renames, the save's complete copy is first moved into place.
 */
export async function readCheckpointMeta(dir: string, options: Pick<LoadCheckpointOptions, 'expect'> = {}): Promise<CheckpointMeta> {
  await recoverInterruptedSave(dir);
  const file = path.join(dir, CHECKPOINT_JSON);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const dirExists = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
    if (!dirExists) fail('CHECKPOINT_MISSING', `checkpoint directory ${dir} does not exist (expected ${CHECKPOINT_JSON} and ${WEIGHTS_BIN} in it)`, err);
    if (code === 'ENOENT') fail('CHECKPOINT_MISSING', `${file} is missing: ${dir} is not a checkpoint directory`, err);
    fail('CHECKPOINT_MISSING', `cannot read ${file}: ${(err as Error).message}`, err);
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(text!) as CheckpointMeta;
  } catch (err) {
    return fail('CHECKPOINT_CORRUPT', `${file} is not valid JSON (${(err as Error).message}); the file is damaged`, err);
  }
  if (meta?.format !== CHECKPOINT_FORMAT) fail('CHECKPOINT_CORRUPT', `${file}: format is ${JSON.stringify(meta?.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (meta.version !== CHECKPOINT_VERSION) fail('CHECKPOINT_CORRUPT', `${file}: version ${String(meta.version)} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  try {
    validateConfig(meta.config);
  } catch (err) {
    fail('CHECKPOINT_CORRUPT', `${file}: bad model configuration: ${(err as Error).message}`, err);
  }
  const total = meta.weights?.byteLength;
  if (!Number.isInteger(total) || typeof meta.weights.sha256 !== 'string') fail('CHECKPOINT_CORRUPT', `${file}: "weights" must give byteLength and sha256`);
  if (!Number.isInteger(meta.epoch) || !Number.isInteger(meta.step)) fail('CHECKPOINT_CORRUPT', `${file}: epoch and step must be integers`);
  checkEntries(file, 'variables', meta.variables, total);
  if (meta.optimizer !== null) checkEntries(file, 'optimizer.weights', meta.optimizer?.weights, total);

  const { preset, variant } = options.expect ?? {};
  if (preset !== undefined && meta.config.preset !== preset) {
    fail('CHECKPOINT_MISMATCH', `${dir} holds preset "${meta.config.preset}", expected "${preset}"`);
  }
  if (variant !== undefined && meta.config.variant !== variant) {
    fail('CHECKPOINT_MISMATCH', `${dir} holds variant "${meta.config.variant}", expected "${variant}"`);
  }
  return meta;
}

async function readWeights(dir: string, meta: CheckpointMeta): Promise<Buffer> {
  const file = path.join(dir, WEIGHTS_BIN);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    return fail('CHECKPOINT_MISSING', `${file} is missing or unreadable (${(err as Error).message}); ${CHECKPOINT_JSON} refers to it`, err);
  }
  const expected = meta.weights.byteLength;
  if (bytes.byteLength < expected) {
    fail('CHECKPOINT_TRUNCATED', `${file} is truncated: ${bytes.byteLength} bytes, ${CHECKPOINT_JSON} expects ${expected}`);
  }
  if (bytes.byteLength > expected) {
    fail('CHECKPOINT_CORRUPT', `${file} has ${bytes.byteLength} bytes, ${CHECKPOINT_JSON} expects ${expected}`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== meta.weights.sha256) {
    fail('CHECKPOINT_CORRUPT', `${file} is corrupt: its SHA-256 ${sha} differs from ${meta.weights.sha256} recorded in ${CHECKPOINT_JSON}`);
  }
  return bytes;
}

function entryTensor(bytes: Buffer, e: TensorEntry): tf.Tensor {
  // Copy: the entry's offset within the file buffer need not be aligned for a typed view.
  const slice = bytes.buffer.slice(bytes.byteOffset + e.offset, bytes.byteOffset + e.offset + e.byteLength);
  const data = e.dtype === 'int32' ? new Int32Array(slice) : new Float32Array(slice);
  return tf.tensor(data, [...e.shape], e.dtype);
}

/** Restores a checkpoint: the model with every variable, plus the training state to resume. */
export async function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const meta = await readCheckpointMeta(dir, options);
  const bytes = await readWeights(dir, meta);
  const config = options.hold === undefined ? meta.config : { ...meta.config, hold: options.hold };
  const model = createModel(config, 0, options.scope === undefined ? {} : { scope: options.scope });
  try {
    const named = model.namedVariables();
    const stored = new Set(meta.variables.map((e) => e.name));
    const missing = [...named.keys()].filter((n) => !stored.has(n));
    const extra = [...stored].filter((n) => !named.has(n));
    if (missing.length > 0 || extra.length > 0) {
      fail(
        'CHECKPOINT_MISMATCH',
        `${path.join(dir, CHECKPOINT_JSON)} does not match its configuration: ` +
          `missing [${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}], ` +
          `unexpected [${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}]`,
      );
    }
    for (const e of meta.variables) {
      const v = named.get(e.name)!;
      if (v.shape.join(',') !== e.shape.join(',')) {
        fail('CHECKPOINT_MISMATCH', `${dir}: variable ${e.name} has shape [${e.shape.join(', ')}], the model needs [${v.shape.join(', ')}]`);
      }
      tf.tidy(() => v.assign(entryTensor(bytes, e)));
    }
  } catch (err) {
    model.dispose();
    throw err;
  }

  const saved = meta.optimizer;
  const restoreOptimizer = async (optimizer: tf.Optimizer, target: Model = model): Promise<void> => {
    if (!saved) fail('CHECKPOINT_OPTIMIZER', `${dir} holds no optimizer state`);
    if (optimizer.getClassName() !== saved!.className) {
      fail('CHECKPOINT_OPTIMIZER', `${dir} holds ${saved!.className} state, cannot restore it into ${optimizer.getClassName()}`);
    }
    const scope = modelScope(target);
    const weights = saved!.weights.map((e) => ({
      name: target.namedVariables().has(e.name.replace(/\/[^/]+$/, '')) ? `${scope}/${e.name}` : e.name,
      tensor: entryTensor(bytes, e),
    }));
    try {
      await optimizer.setWeights(weights);
    } finally {
      // setWeights keeps its own variables over the same data; these handles can go.
      for (const w of weights) w.tensor.dispose();
    }
  };
  const createOptimizer = async (target: Model = model): Promise<tf.Optimizer | null> => {
    if (!saved) return null;
    const entry = tf.serialization.SerializationMap.getMap().classNameMap[saved.className];
    if (!entry) fail('CHECKPOINT_OPTIMIZER', `${dir}: unknown optimizer class "${saved.className}"`);
    const [cls, fromConfig] = entry!;
    const optimizer = fromConfig(cls, saved.config as tf.serialization.ConfigDict) as tf.Optimizer;
    await restoreOptimizer(optimizer, target);
    return optimizer;
  };

  return {
    dir,
    meta,
    model,
    config: model.config,
    epoch: meta.epoch,
    step: meta.step,
    rng: meta.rng,
    trainerState: meta.trainerState,
    optimizerClassName: saved?.className ?? null,
    restoreOptimizer,
    createOptimizer,
  };
}
