/**
 * Directory-level atomicity for checkpoints. A save writes `<dir>.tmp-<tag>/` completely
 * (weights first, `checkpoint.json` last, both fsynced), then renames `<dir>` to
 * `<dir>.old-<tag>`, renames the new directory to `<dir>` and removes the old one.
 * A crash between the two renames leaves no `<dir>` but a complete `<dir>.tmp-<tag>`;
 * `recoverInterruptedSave` finishes that swap.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

import { CHECKPOINT_JSON, WEIGHTS_BIN } from './checkpoint-format.js';

async function writeFileSynced(file: string, parts: readonly Uint8Array[] | string): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    if (typeof parts === 'string') await handle.writeFile(parts, 'utf8');
    else for (const p of parts) await handle.write(p);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const exists = (p: string): Promise<boolean> => fs.stat(p).then(() => true, () => false);

/** Directories a save of `target` leaves beside it while running (or after a crash). */
async function leftovers(target: string): Promise<{ tmp: string[]; old: string[] }> {
  const base = path.basename(target);
  const parent = path.dirname(target);
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const pick = (kind: string): string[] => names.filter((n) => n.startsWith(`${base}.${kind}-`)).map((n) => path.join(parent, n));
  return { tmp: pick('tmp'), old: pick('old') };
}

export async function writeDirectoryAtomically(dir: string, weights: readonly Uint8Array[], json: string): Promise<void> {
  const target = path.resolve(dir);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = `${target}.tmp-${tag}`;
  await fs.mkdir(path.dirname(target), { recursive: true });
  try {
    await fs.mkdir(tmp);
    await writeFileSynced(path.join(tmp, WEIGHTS_BIN), weights);
    await writeFileSynced(path.join(tmp, CHECKPOINT_JSON), json);
    const old = `${target}.old-${tag}`;
    let hadOld = true;
    try {
      await fs.rename(target, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      hadOld = false;
    }
    await fs.rename(tmp, target);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  // Debris of earlier saves that were killed part-way.
  const { tmp: staleTmp, old: staleOld } = await leftovers(target);
  await Promise.all([...staleTmp, ...staleOld].map((p) => fs.rm(p, { recursive: true, force: true })));
}

/**
 * When `dir` is missing but a save of it was interrupted between its renames, moves the
 * newest complete copy into place. Returns whether it did.
 */
export async function recoverInterruptedSave(dir: string): Promise<boolean> {
  const target = path.resolve(dir);
  if (await exists(target)) return false;
  const { tmp, old } = await leftovers(target);
  // A new copy is complete once its checkpoint.json exists (written last); prefer it to the old one.
  for (const candidates of [tmp, old]) {
    const complete: { dir: string; mtime: number }[] = [];
    for (const c of candidates) {
      const stat = await fs.stat(path.join(c, CHECKPOINT_JSON)).catch(() => null);
      if (stat) complete.push({ dir: c, mtime: stat.mtimeMs });
    }
    const newest = complete.sort((a, b) => b.mtime - a.mtime)[0];
    if (newest) {
      await fs.rename(newest.dir, target);
      await Promise.all([...tmp, ...old].filter((p) => p !== newest.dir).map((p) => fs.rm(p, { recursive: true, force: true })));
      return true;
    }
  }
  return false;
}
