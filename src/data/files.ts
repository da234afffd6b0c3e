import { readFile, stat } from 'node:fs/promises';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { DataError } from './errors.js';

/** Fails with a message naming the directory and what should be in it. */
export async function requireDirectory(dir: string, expected: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new DataError('DATA_DIR_NOT_FOUND', `data directory ${dir} does not exist; expected it to hold ${expected}`, dir);
  }
  if (!isDir) {
    throw new DataError('DATA_DIR_NOT_FOUND', `data directory ${dir} is not a directory; expected a directory holding ${expected}`, dir);
  }
}

/** Returns the first of `candidates` that exists, or fails naming all of them. */
export async function findFile(candidates: readonly string[], what: string): Promise<string> {
  for (const file of candidates) {
    try {
      if ((await stat(file)).isFile()) return file;
    } catch {
      // try the next candidate
    }
  }
  throw new DataError('DATA_FILE_NOT_FOUND', `${what} not found: looked for ${candidates.join(' or ')}`, candidates[0]);
}

export async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DataError('DATA_FILE_UNREADABLE', `cannot read ${file}: ${reason}`, file);
  }
}

/**
 * Reads a file, gunzipping it when it starts with the gzip magic bytes. With
 * `allowTruncated`, a gzip stream cut short yields what could be decompressed, so the
 * caller can keep the complete records and count the rest as skipped.
 */
export async function readMaybeGzipped(file: string, allowTruncated = false): Promise<Buffer> {
  const raw = await readBytes(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (err) {
      if (allowTruncated) {
        try {
          return gunzipSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
        } catch {
          // fall through to the error below
        }
      }
      const reason = err instanceof Error ? err.message : String(err);
      throw new DataError('DATA_BAD_GZIP', `${file} is not a valid gzip file (${reason}); re-download it`, file);
    }
  }
  if (file.endsWith('.gz')) {
    throw new DataError('DATA_BAD_GZIP', `${file} is named .gz but does not start with the gzip magic bytes 1f 8b`, file);
  }
  return raw;
}
