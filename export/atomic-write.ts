import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface FileToWrite {
  readonly path: string;
  readonly data: Uint8Array | string;
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

async function writeSynced(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes files so that readers see either the old files or the complete new ones:
 * every file's bytes first go to a temporary file in its own directory (so rename
 * stays on one file system) and are flushed; only when all are staged are they renamed
 * into place. On any failure the temporary files are removed and the error rethrown,
 * so no half-written file is ever left at a target path.
 */
export async function writeFilesAtomic(files: readonly FileToWrite[]): Promise<void> {
  const staged: Array<{ tmp: string; path: string }> = [];
  const pending = new Set<string>();
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.path);
      pending.add(tmp);
      await writeSynced(tmp, f.data);
      staged.push({ tmp, path: f.path });
    }
    for (const s of staged) {
      await rename(s.tmp, s.path);
      pending.delete(s.tmp);
    }
  } finally {
    await Promise.all([...pending].map((p) => unlink(p).catch(() => undefined)));
  }
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeFilesAtomic([{ path, data }]);
}
