import { appendFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A run directory:
 *   log.jsonl                    one JSON object per finished epoch
 *   summary.json                 written when the run finishes
 *   checkpoints/latest/          the newest checkpoint (every N steps and every epoch)
 *   checkpoints/epoch-001/ …     the checkpoint at the end of each epoch
 *   checkpoints/best/            the epoch-end checkpoint with the best validation W-Robust
 *                                (clean and worst-case robust accuracy); best.json says which
 */
export class RunFiles {
  constructor(readonly dir: string) {}

  get log(): string {
    return join(this.dir, 'log.jsonl');
  }

  get summary(): string {
    return join(this.dir, 'summary.json');
  }

  get latest(): string {
    return join(this.dir, 'checkpoints', 'latest');
  }

  get best(): string {
    return join(this.dir, 'checkpoints', 'best');
  }

  get bestMarker(): string {
    return join(this.dir, 'checkpoints', 'best.json');
  }

  epochCheckpoint(epoch: number): string {
    return join(this.dir, 'checkpoints', `epoch-${String(epoch).padStart(3, '0')}`);
  }

  async prepare(): Promise<void> {
    await mkdir(join(this.dir, 'checkpoints'), { recursive: true });
  }

  async hasCheckpoint(): Promise<boolean> {
    try {
      return (await stat(join(this.latest, 'checkpoint.json'))).isFile();
    } catch {
      return false;
    }
  }

  async appendLog(record: object): Promise<void> {
    await appendFile(this.log, `${JSON.stringify(record)}\n`);
  }

  /** Epoch numbers already in the log (a resumed run must not write them twice). */
  async loggedEpochs(): Promise<Set<number>> {
    let text: string;
    try {
      text = await readFile(this.log, 'utf8');
    } catch {
      return new Set();
    }
    // A kill in mid-write can leave a last line without its newline; end it so the next
    // record starts on a line of its own.
    if (text.length > 0 && !text.endsWith('\n')) await appendFile(this.log, '\n');
    const epochs = new Set<number>();
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const record = JSON.parse(line) as { epoch?: unknown };
        if (typeof record.epoch === 'number') epochs.add(record.epoch);
      } catch {
        // A line cut by a kill mid-write: ignored, the epoch is logged again.
      }
    }
    return epochs;
  }

  async writeSummary(summary: object): Promise<void> {
    await this.writeJson(this.summary, summary);
  }

  /** Writes JSON atomically (temporary file, then rename). */
  async writeJson(path: string, value: object): Promise<void> {
    const tmp = `${path}.tmp`;
    await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
    await rename(tmp, path);
  }
}
