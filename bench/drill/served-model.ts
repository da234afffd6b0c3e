import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildConfig, createModel, loadCheckpoint } from '../../src/model/index.js';
import type { Model } from '../../src/model/types.js';
import { repoPath } from './repo.js';

/** The ONNX file the end-to-end test serves: the service's default model unless AWNET_E2E_MODEL names another. */
export const MODEL_FILE = process.env.AWNET_E2E_MODEL ?? repoPath('models', 'fmnist-tiny-awnet.onnx');
export const MODEL_NAME = path.basename(MODEL_FILE, '.onnx');

export interface Attacker {
  readonly model: Model;
  readonly description: string;
}

/**
 * The checkpoint the served ONNX file was exported from, when there is one: named by
 * AWNET_E2E_CHECKPOINT, or shipped beside the model as models/<name>.checkpoint/.
 */
export function servedCheckpoint(): string | undefined {
  const beside = MODEL_FILE.replace(/\.onnx$/, '.checkpoint');
  return process.env.AWNET_E2E_CHECKPOINT ?? (existsSync(path.join(beside, 'checkpoint.json')) ? beside : undefined);
}

/**
 * The TensorFlow.js model the attack differentiates. With the served model's checkpoint
 * the attack is white-box. Otherwise it is a transfer attack from a surrogate with the
 * same architecture and its own seeded weights (an attacker who does not hold the served
 * weights), since an ONNX file cannot be differentiated in TensorFlow.js.
 */
export async function attacker(): Promise<Attacker> {
  const checkpoint = servedCheckpoint();
  if (checkpoint !== undefined) {
    const loaded = await loadCheckpoint(checkpoint);
    return { model: loaded.model, description: `white-box PGD on ${checkpoint}` };
  }
  return { model: createModel(buildConfig('fmnist-tiny', 'static'), 11), description: 'transfer PGD from a seeded fmnist-tiny surrogate' };
}
