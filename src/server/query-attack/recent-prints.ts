import { HASHES, matchNeeded, sameSketch, type Fingerprint } from './query-fingerprint.js';

/**
 * Postings followed per hash of a new image, newest first. A hash that nearly every image
 * holds (a run of flat background) would otherwise make each lookup a scan of the whole
 * store; a near duplicate shares far more than MATCH hashes, so missing an old posting of
 * one such hash costs it one shared hash, not the match.
 */
export const CHAIN_LIMIT = 64;

/** What a new image finds among the remembered ones. */
export interface Lookup {
  /** Slots whose image shares at least MATCH hashes with it (exact repeats excluded). */
  readonly near: readonly number[];
  /** The newest slot holding exactly this image, if any. */
  readonly repeat: number | undefined;
}

const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)));

/**
 * The last `capacity` fingerprints from all clients, oldest overwritten first, with an
 * inverted index from each sketch hash to the images holding it, so that finding the near
 * duplicates of a new image costs at most HASHES × CHAIN_LIMIT steps whatever the number
 * of clients or images. The index is a chain per bucket through the postings, newest first;
 * a posting is slot × HASHES + its place in the sketch, so overwriting a slot reuses its
 * postings and a stale link shows as a step to a newer entry, where the walk stops.
 */
export class RecentPrints {
  private readonly sketches: Uint32Array;
  private readonly lengths: Uint8Array;
  private readonly exact: Uint32Array;
  private readonly times: Float64Array;
  /** Sequence number of the entry in each slot (its position in the stream of all entries). */
  private readonly seqs: Float64Array;
  private readonly heads: Int32Array;
  private readonly next: Int32Array;
  private readonly mask: number;
  /** A second index, by the hash of the whole image: one chain entry per slot. */
  private readonly exactHeads: Int32Array;
  private readonly exactNext: Int32Array;
  // Scratch for one lookup: shared hashes per slot, valid where stamp equals the lookup's.
  private readonly shared: Uint8Array;
  private readonly stamps: Uint32Array;
  private readonly seenFor: Int8Array;
  private stamp = 0;
  /** Entries ever added. */
  added = 0;

  constructor(readonly capacity: number) {
    this.sketches = new Uint32Array(capacity * HASHES);
    this.lengths = new Uint8Array(capacity);
    this.exact = new Uint32Array(capacity);
    this.times = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity).fill(-1);
    this.heads = new Int32Array(nextPowerOfTwo((capacity * HASHES) / 2)).fill(-1);
    this.mask = this.heads.length - 1;
    this.next = new Int32Array(capacity * HASHES).fill(-1);
    this.exactHeads = new Int32Array(nextPowerOfTwo(capacity)).fill(-1);
    this.exactNext = new Int32Array(capacity).fill(-1);
    this.shared = new Uint8Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.seenFor = new Int8Array(capacity);
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    const arrays = [this.sketches, this.lengths, this.exact, this.times, this.seqs, this.heads, this.next, this.exactHeads, this.exactNext, this.shared, this.stamps, this.seenFor];
    return arrays.reduce((sum, a) => sum + a.byteLength, 0);
  }

  /** The slot the next entry goes to; the entry there (if any) is the oldest. */
  get nextSlot(): number {
    return this.added % this.capacity;
  }

  /** Sequence number of the oldest entry still held. */
  get oldest(): number {
    return Math.max(0, this.added - this.capacity);
  }

  slotOf(seq: number): number {
    return seq % this.capacity;
  }

  timeOf(seq: number): number {
    return this.times[seq % this.capacity]!;
  }

  /** Near duplicates and an exact repeat of `print` among the entries added at or after `since` (ms). */
  lookup(print: Fingerprint, since: number): Lookup {
    const repeat = this.findRepeat(print, since);
    return { near: repeat === undefined ? this.findNear(print, since) : [], repeat };
  }

  /**
   * Found by the whole image's hash, not through the sketch's chains, so that a popular image
   * whose hashes are on long chains is still recognised however many images came since.
   */
  private findRepeat(print: Fingerprint, since: number): number | undefined {
    let slot = this.exactHeads[print.exact & (this.exactHeads.length - 1)]!;
    let previous = Infinity;
    for (let steps = 0; slot >= 0 && steps < CHAIN_LIMIT; steps++) {
      const seq = this.seqs[slot]!;
      if (seq > previous || seq < 0 || this.times[slot]! < since) return undefined;
      previous = seq;
      if (this.exact[slot] === print.exact && sameSketch(this.sketchOf(slot), print.sketch)) return slot;
      slot = this.exactNext[slot]!;
    }
    return undefined;
  }

  private sketchOf(slot: number): Uint32Array {
    return this.sketches.subarray(slot * HASHES, slot * HASHES + this.lengths[slot]!);
  }

  private findNear(print: Fingerprint, since: number): number[] {
    const stamp = (this.stamp = (this.stamp + 1) >>> 0);
    const touched: number[] = [];
    const { sketch } = print;
    for (let i = 0; i < sketch.length; i++) {
      const h = sketch[i]!;
      let p = this.heads[h & this.mask]!;
      let previous = Infinity;
      for (let steps = 0; p >= 0 && steps < CHAIN_LIMIT; steps++) {
        const slot = Math.floor(p / HASHES);
        const seq = this.seqs[slot]!;
        // Newer than the posting that led here: the slot was overwritten since; older than
        // the window: so is everything after it.
        if (seq > previous || seq < 0 || this.times[slot]! < since) break;
        previous = seq;
        if (this.sketches[p] === h && p % HASHES < this.lengths[slot]!) {
          if (this.stamps[slot] !== stamp) {
            this.stamps[slot] = stamp;
            this.shared[slot] = 0;
            this.seenFor[slot] = -1;
            touched.push(slot);
          }
          // A chain can pass a slot twice (two of its hashes in one bucket): count once per hash.
          if (this.seenFor[slot] !== i) {
            this.seenFor[slot] = i;
            this.shared[slot]!++;
          }
        }
        p = this.next[p]!;
      }
    }
    const needed = matchNeeded(sketch);
    return touched.filter((slot) => this.shared[slot]! >= needed && !(this.exact[slot] === print.exact && sameSketch(this.sketchOf(slot), sketch)));
  }

  /** Adds `print` at time `now` (ms), overwriting the oldest entry when full; returns its sequence number. */
  add(print: Fingerprint, now: number): number {
    const seq = this.added++;
    const slot = seq % this.capacity;
    const base = slot * HASHES;
    this.sketches.fill(0, base, base + HASHES);
    this.sketches.set(print.sketch, base);
    this.lengths[slot] = print.sketch.length;
    this.exact[slot] = print.exact;
    this.times[slot] = now;
    this.seqs[slot] = seq;
    const bucket = print.exact & (this.exactHeads.length - 1);
    this.exactNext[slot] = this.exactHeads[bucket]!;
    this.exactHeads[bucket] = slot;
    for (let j = 0; j < print.sketch.length; j++) {
      const bucket = print.sketch[j]! & this.mask;
      this.next[base + j] = this.heads[bucket]!;
      this.heads[bucket] = base + j;
    }
    return seq;
  }
}
