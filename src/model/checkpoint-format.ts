/**
 * Checkpoints: a directory holding
 *   - `checkpoint.json`: format/version, the model configuration, epoch, step, RNG seed/state,
 *     the trainer's own JSON state, the optimizer's class and config, and a manifest of every
 *     stored tensor (name, dtype, shape, byte offset and length) plus the SHA-256 of the weights;
 *   - `weights.bin`: the tensors' raw little-endian bytes, model variables first (every variable
 *     by stable name: both BN sets with running statistics, the router...), then optimizer slots.
 * Optimizer slot names are stored without the model's tfjs scope (`main/stem/conv/kernel/m`)
 * and re-scoped to the receiving model on restore.
 *
 * A save writes a complete new directory beside the target and swaps it in by rename, so a
 * crash leaves either the previous checkpoint or the new one, never a mixture
 * (checkpoint-files.ts; a load finishes a swap that a crash interrupted).
 */
import type * as tf from '@tensorflow/tfjs';

import type { ArchConfig, Model } from './types.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const CHECKPOINT_FORMAT = 'awnet-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_JSON = 'checkpoint.json';
export const WEIGHTS_BIN = 'weights.bin';

export type StoredDtype = 'float32' | 'int32';

export interface TensorEntry {
  readonly name: string;
  readonly dtype: StoredDtype;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly byteLength: number;
}

export interface RngState {
  readonly seed: number;
  readonly state?: JsonValue;
}

/** Everything in `checkpoint.json`. */
export interface CheckpointMeta {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: number;
  readonly created: string;
  readonly config: ArchConfig;
  readonly epoch: number;
  readonly step: number;
  readonly rng: RngState | null;
  readonly trainerState: JsonValue | null;
  readonly optimizer: { readonly className: string; readonly config: JsonValue; readonly weights: readonly TensorEntry[] } | null;
  readonly variables: readonly TensorEntry[];
  readonly weights: { readonly file: typeof WEIGHTS_BIN; readonly byteLength: number; readonly sha256: string };
}

export interface SaveCheckpointOptions {
  readonly model: Model;
  /** Its slots (`getWeights()`), class and config are saved. */
  readonly optimizer?: tf.Optimizer | null;
  readonly epoch?: number;
  readonly step?: number;
  readonly rng?: RngState | null;
  /** Any JSON the trainer needs to resume (α values, schedule position, data order...). */
  readonly trainerState?: JsonValue;
}

