import { promises as fs } from 'node:fs';
import path from 'node:path';

import { writeDirectoryAtomically } from './checkpoint-files.js';
import { WEIGHTS_BIN, type CheckpointMeta } from './checkpoint-format.js';
import { readCheckpointMeta } from './checkpoint-load.js';
import { validateConfig } from './presets.js';
import { changedHold, type HoldChange } from './router-hold.js';
import type { RouterHold } from './types.js';

/**
 * Records a router hold in a checkpoint's configuration, in place or in a copy at `out`: the
 * weights and the training state are untouched, so `evaluate`, `export` and `train --resume`
 * all see the model under that hold. The directory is replaced atomically.
 */
export async function recordHold(dir: string, change: HoldChange, out: string = dir): Promise<{ hold: RouterHold; previous: RouterHold | undefined }> {
  const meta = await readCheckpointMeta(dir);
  const hold = changedHold(meta.config, change);
  const config = validateConfig({ ...meta.config, hold });
  const updated: CheckpointMeta = { ...meta, config };
  const weights = new Uint8Array(await fs.readFile(path.join(dir, WEIGHTS_BIN)));
  await writeDirectoryAtomically(out, [weights], `${JSON.stringify(updated, null, 2)}\n`);
  return { hold, previous: meta.config.hold };
}
