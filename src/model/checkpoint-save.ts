import { createHash } from 'node:crypto';

import * as tf from '@tensorflow/tfjs';

import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  WEIGHTS_BIN,
  type CheckpointMeta,
  type JsonValue,
  type SaveCheckpointOptions,
  type StoredDtype,
  type TensorEntry,
} from './checkpoint-format.js';
import { writeDirectoryAtomically } from './checkpoint-files.js';
import type { Model } from './types.js';

/** The model's tfjs variable-name scope (`awnet3`), derived from its named variables. */
export function modelScope(model: Model): string {
  for (const [name, variable] of model.namedVariables()) {
    if (variable.name.endsWith(`/${name}`)) return variable.name.slice(0, -name.length - 1);
  }
  throw new Error('model variables carry no scope prefix');
}

async function tensorBytes(t: tf.Tensor): Promise<{ dtype: StoredDtype; bytes: Uint8Array }> {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`cannot store a ${t.dtype} tensor`);
  const data = (await t.data()) as Float32Array | Int32Array;
  return { dtype: t.dtype, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Saves everything needed to resume training into `dir` (created or replaced atomically). */
export async function saveCheckpoint(dir: string, options: SaveCheckpointOptions): Promise<void> {
  const { model } = options;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const add = async (name: string, t: tf.Tensor): Promise<TensorEntry> => {
    const { dtype, bytes } = await tensorBytes(t);
    chunks.push(bytes);
    const entry: TensorEntry = { name, dtype, shape: [...t.shape], offset, byteLength: bytes.byteLength };
    offset += bytes.byteLength;
    return entry;
  };

  const variables: TensorEntry[] = [];
  for (const [name, v] of model.namedVariables()) variables.push(await add(name, v));

  let optimizer: CheckpointMeta['optimizer'] = null;
  if (options.optimizer) {
    const scopePrefix = `${modelScope(model)}/`;
    const named = await options.optimizer.getWeights();
    const weights: TensorEntry[] = [];
    for (const { name, tensor } of named) {
      weights.push(await add(name.startsWith(scopePrefix) ? name.slice(scopePrefix.length) : name, tensor));
      // getWeights() returns the live slot variables plus freshly made tensors (the iteration count).
      if (!(tensor instanceof tf.Variable)) tensor.dispose();
    }
    optimizer = {
      className: options.optimizer.getClassName(),
      config: options.optimizer.getConfig() as JsonValue,
      weights,
    };
  }

  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    created: new Date().toISOString(),
    config: model.config,
    epoch: options.epoch ?? 0,
    step: options.step ?? 0,
    rng: options.rng ?? null,
    trainerState: options.trainerState ?? null,
    optimizer,
    variables,
    weights: { file: WEIGHTS_BIN, byteLength: offset, sha256: hash.digest('hex') },
  };
  await writeDirectoryAtomically(dir, chunks, `${JSON.stringify(meta, null, 2)}\n`);
}
