/**
 * Counts images and flagged images over the last `seconds` seconds, in one-second
 * buckets, so the flagged fraction can be read at any time in O(window).
 */
export class FlaggedWindow {
  private readonly totals: Uint32Array;
  private readonly flagged: Uint32Array;
  /** The second each bucket currently holds. */
  private readonly stamps: Float64Array;

  constructor(
    private readonly seconds: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.totals = new Uint32Array(seconds);
    this.flagged = new Uint32Array(seconds);
    this.stamps = new Float64Array(seconds).fill(-1);
  }

  record(flagged: boolean): void {
    const second = Math.floor(this.now() / 1000);
    const i = second % this.seconds;
    if (this.stamps[i] !== second) {
      this.stamps[i] = second;
      this.totals[i] = 0;
      this.flagged[i] = 0;
    }
    this.totals[i]!++;
    if (flagged) this.flagged[i]!++;
  }

  /** Flagged / all images in the window; 0 when the window saw no image. */
  fraction(): number {
    const oldest = Math.floor(this.now() / 1000) - this.seconds + 1;
    let total = 0;
    let flagged = 0;
    for (let i = 0; i < this.seconds; i++) {
      if (this.stamps[i]! >= oldest) {
        total += this.totals[i]!;
        flagged += this.flagged[i]!;
      }
    }
    return total === 0 ? 0 : flagged / total;
  }
}
