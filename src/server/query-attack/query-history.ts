import { HASHES, matchNeeded, overlap, sameSketch, type Fingerprint } from './query-fingerprint.js';

/** What one client's recent queries say about it. */
export interface HistoryCounts {
  /** Queries remembered inside the window. */
  readonly queries: number;
  /** Of those, the ones that matched an earlier remembered query. */
  readonly nearDuplicates: number;
}

const FIRST_CAPACITY = 8;

/**
 * One client's last queries: a ring of fingerprints with their times, in flat typed arrays so
 * that a client costs HASHES × 4 + 14 bytes per remembered query and nothing per object. The
 * ring starts small and doubles up to `limit`, so that the many clients who send a handful of
 * images cost little.
 */
export class QueryHistory {
  private capacity: number;
  private sketches: Uint32Array;
  private lengths: Uint8Array;
  private exact: Uint32Array;
  private times: Float64Array;
  private near: Uint8Array;
  /** Entries held, oldest at `start`. */
  private count = 0;
  private start = 0;
  /** Every query ever recorded (repeats excluded), for the "suspected after" figure. */
  total = 0;
  /** `total` when the client was first suspected; 0 while it never was. */
  suspectedAfter = 0;
  /** Until when (ms) the client stays suspected if it sends nothing more; 0: not suspected. */
  suspectedUntil = 0;

  constructor(private readonly limit: number) {
    this.capacity = Math.min(FIRST_CAPACITY, limit);
    this.sketches = new Uint32Array(this.capacity * HASHES);
    this.lengths = new Uint8Array(this.capacity);
    this.exact = new Uint32Array(this.capacity);
    this.times = new Float64Array(this.capacity);
    this.near = new Uint8Array(this.capacity);
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    return this.capacity * (HASHES * 4 + 1 + 4 + 8 + 1);
  }

  private slot(k: number): number {
    return (this.start + k) % this.capacity;
  }

  /**
   * Records a query at time `now` (ms), matching it against the remembered queries since
   * `since`. An exact repeat of a remembered query is not recorded (retries are not probes)
   * and returns undefined; otherwise whether it is a near duplicate.
   */
  record(print: Fingerprint, now: number, since: number): boolean | undefined {
    let near = false;
    for (let k = 0; k < this.count; k++) {
      const s = this.slot(k);
      if (this.times[s]! < since) continue;
      const stored = this.sketches.subarray(s * HASHES, s * HASHES + this.lengths[s]!);
      if (this.exact[s] === print.exact && sameSketch(stored, print.sketch)) return undefined;
      if (overlap(stored, print.sketch) >= matchNeeded(print.sketch)) near = true;
    }
    if (this.count === this.capacity) {
      if (this.capacity < this.limit) this.grow();
      else {
        this.start = (this.start + 1) % this.capacity;
        this.count--;
      }
    }
    const s = this.slot(this.count);
    this.sketches.fill(0, s * HASHES, (s + 1) * HASHES);
    this.sketches.set(print.sketch, s * HASHES);
    this.lengths[s] = print.sketch.length;
    this.exact[s] = print.exact;
    this.times[s] = now;
    this.near[s] = near ? 1 : 0;
    this.count++;
    this.total++;
    return near;
  }

  /** Queries and near duplicates remembered since `since`. */
  counts(since: number): HistoryCounts {
    let queries = 0;
    let nearDuplicates = 0;
    for (let k = 0; k < this.count; k++) {
      const s = this.slot(k);
      if (this.times[s]! < since) continue;
      queries++;
      nearDuplicates += this.near[s]!;
    }
    return { queries, nearDuplicates };
  }

  /**
   * When, with no further query, the near duplicates since `since` would fall below
   * `threshold`: the time the one that keeps the count at threshold was recorded.
   */
  nearDuplicateTime(since: number, threshold: number): number {
    const times: number[] = [];
    for (let k = 0; k < this.count; k++) {
      const s = this.slot(k);
      if (this.times[s]! >= since && this.near[s] === 1) times.push(this.times[s]!);
    }
    return times[times.length - threshold] ?? 0;
  }

  private grow(): void {
    const capacity = Math.min(this.capacity * 2, this.limit);
    const sketches = new Uint32Array(capacity * HASHES);
    const lengths = new Uint8Array(capacity);
    const exact = new Uint32Array(capacity);
    const times = new Float64Array(capacity);
    const near = new Uint8Array(capacity);
    for (let k = 0; k < this.count; k++) {
      const s = this.slot(k);
      sketches.set(this.sketches.subarray(s * HASHES, (s + 1) * HASHES), k * HASHES);
      lengths[k] = this.lengths[s]!;
      exact[k] = this.exact[s]!;
      times[k] = this.times[s]!;
      near[k] = this.near[s]!;
    }
    this.capacity = capacity;
    this.sketches = sketches;
    this.lengths = lengths;
    this.exact = exact;
    this.times = times;
    this.near = near;
    this.start = 0;
  }
}
