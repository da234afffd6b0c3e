import { readdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Names the ring writes and, at start, recognises as its own: time, sequence, extension. */
const NAME = /^q-(\d{13})-(\d{6})\.(png|json)$/;

/** Items waiting to be written; more are dropped (and counted) rather than queued without bound. */
const MAX_PENDING = 64;

export interface EvidenceItem {
  /** The image as the model saw it, PNG-encoded: made only when the item is written, off the request path. */
  readonly image: () => Promise<Buffer>;
  /** Score, probabilities, client key hash, time, decision: written next to it as JSON. */
  readonly record: Readonly<Record<string, unknown>>;
}

interface Entry {
  readonly base: string;
  bytes: number;
}

/**
 * A bounded ring of evidence files in one directory: each item is a PNG and a JSON file with
 * the same name, made from the time and a counter only (never from anything a client sent).
 * Before an item is written, the oldest are deleted until it fits under `maxBytes`; an item
 * larger than the whole budget is dropped. Writes run one at a time, off the request path.
 */
export class EvidenceRing {
  private readonly entries: Entry[] = [];
  private total = 0;
  private sequence = 0;
  private pending = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Items not written: the queue was full, the item too large, or the write failed. */
  dropped = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly warn: (line: string) => void,
  ) {}

  /** Opens the ring, counting (and keeping within budget) what an earlier process left. */
  static async open(dir: string, maxBytes: number, warn: (line: string) => void): Promise<EvidenceRing> {
    const ring = new EvidenceRing(dir, maxBytes, warn);
    const byBase = new Map<string, number>();
    for (const name of (await readdir(dir)).sort()) {
      if (!NAME.test(name)) continue;
      const base = name.slice(0, name.lastIndexOf('.'));
      byBase.set(base, (byBase.get(base) ?? 0) + (await stat(path.join(dir, name))).size);
    }
    for (const [base, bytes] of byBase) {
      ring.entries.push({ base, bytes });
      ring.total += bytes;
    }
    await ring.makeRoom(0);
    return ring;
  }

  /** Bytes of evidence on disk. */
  get bytes(): number {
    return this.total;
  }

  get files(): number {
    return this.entries.length;
  }

  /** Queues an item; returns at once. */
  add(item: EvidenceItem): void {
    if (this.pending >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending++;
    this.chain = this.chain.then(() => this.write(item)).finally(() => this.pending--);
  }

  /** Resolves when every queued item is written (or dropped). */
  flush(): Promise<void> {
    return this.chain;
  }

  private async write(item: EvidenceItem): Promise<void> {
    const time = Date.now();
    this.sequence = (this.sequence + 1) % 1_000_000;
    const base = `q-${String(time).padStart(13, '0')}-${String(this.sequence).padStart(6, '0')}`;
    const json = Buffer.from(`${JSON.stringify({ ...item.record, file: `${base}.png` })}\n`);
    try {
      const png = await item.image();
      const bytes = png.length + json.length;
      if (bytes > this.maxBytes) {
        this.dropped++;
        return;
      }
      await this.makeRoom(bytes);
      const entry: Entry = { base, bytes: 0 };
      this.entries.push(entry);
      // Counted before each write, so that a failed second write still leaves the sum right.
      entry.bytes += png.length;
      this.total += png.length;
      await writeFile(path.join(this.dir, `${base}.png`), png, { mode: 0o640, flag: 'wx' });
      entry.bytes += json.length;
      this.total += json.length;
      await writeFile(path.join(this.dir, `${base}.json`), json, { mode: 0o640, flag: 'wx' });
    } catch (error) {
      this.dropped++;
      this.warn(`evidence: could not write ${base} in ${this.dir}: ${(error as Error).message}`);
    }
  }

  /** Deletes the oldest items until `incoming` more bytes fit. */
  private async makeRoom(incoming: number): Promise<void> {
    while (this.entries.length > 0 && this.total + incoming > this.maxBytes) {
      const oldest = this.entries.shift()!;
      this.total -= oldest.bytes;
      for (const ext of ['png', 'json']) {
        await unlink(path.join(this.dir, `${oldest.base}.${ext}`)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') this.warn(`evidence: could not delete ${oldest.base}.${ext}: ${error.message}`);
        });
      }
    }
  }
}
