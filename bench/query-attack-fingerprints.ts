import { performance } from 'node:perf_hooks';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { Fingerprinter, HASHES, MATCH, QUANTUM, WINDOW, overlap, type Fingerprint } from '../src/server/query-attack/query-fingerprint.js';
import { QueryMemory } from '../src/server/query-attack/query-memory.js';

// The offline half of the query-attack benchmark: how often distinct clean images look like
// near duplicates, and what fingerprinting and matching cost per image, in process.

export interface FingerprintFigures {
  readonly parameters: { readonly quantum: number; readonly window: number; readonly hashes: number; readonly match: number };
  /** Medians over the images, the memory holding a full history of 128. */
  readonly microsecondsPerImage: { readonly fingerprint: number; readonly record: number };
  /** Every pair of `images` distinct test images. */
  readonly cleanPairs: { readonly images: number; readonly pairs: number; readonly matching: number; readonly fraction: number; readonly overlapP999: number; readonly overlapMax: number };
  /** One client sending distinct test images, judged as the service judges it. */
  readonly cleanStream: { readonly images: number; readonly nearDuplicates: number; readonly fraction: number; readonly everSuspected: boolean };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export async function fingerprintFigures(streamImages = 2000, pairImages = 500): Promise<FingerprintFigures> {
  const data = await loadFashionMnist({ split: 'test', limit: Math.max(streamImages, pairImages) });
  const per = 28 * 28;
  const image = (i: number) => data.images.subarray(i * per, (i + 1) * per);
  const prints = new Fingerprinter();

  const fingerprintTimes: number[] = [];
  const all: Fingerprint[] = [];
  for (let i = 0; i < streamImages; i++) {
    const started = performance.now();
    all.push(prints.of(image(i)));
    fingerprintTimes.push((performance.now() - started) * 1000);
  }

  const overlaps: number[] = [];
  let matching = 0;
  for (let i = 0; i < pairImages; i++) {
    for (let j = 0; j < i; j++) {
      const common = overlap(all[i]!.sketch, all[j]!.sketch);
      overlaps.push(common);
      if (common >= MATCH) matching++;
    }
  }
  overlaps.sort((a, b) => a - b);

  const memory = new QueryMemory({ threshold: 10, windowSeconds: 86_400, history: 128, maxClients: 1 });
  const recordTimes: number[] = [];
  let nearDuplicates = 0;
  let everSuspected = false;
  for (const print of all) {
    const started = performance.now();
    const verdict = memory.record('clean', [print]);
    recordTimes.push((performance.now() - started) * 1000);
    nearDuplicates += verdict.matched;
    everSuspected ||= verdict.suspected;
  }

  return {
    parameters: { quantum: QUANTUM, window: WINDOW, hashes: HASHES, match: MATCH },
    microsecondsPerImage: { fingerprint: median(fingerprintTimes), record: median(recordTimes.slice(128)) },
    cleanPairs: {
      images: pairImages,
      pairs: overlaps.length,
      matching,
      fraction: matching / Math.max(1, overlaps.length),
      overlapP999: overlaps[Math.floor(overlaps.length * 0.999)] ?? 0,
      overlapMax: overlaps.at(-1) ?? 0,
    },
    cleanStream: { images: streamImages, nearDuplicates, fraction: nearDuplicates / streamImages, everSuspected },
  };
}

/** Judges an attack's query stream as the service would (history 128), one image at a time. */
export class StreamJudge {
  private readonly prints = new Fingerprinter();
  private readonly memory = new QueryMemory({ threshold: 10, windowSeconds: 86_400, history: 128, maxClients: 1 });
  queries = 0;
  nearDuplicates = 0;
  /** The query count when the stream was first suspected; 0 if never. */
  suspectedAfter = 0;

  constructor(private readonly per: number) {}

  readonly observe = (images: Float32Array, n: number): void => {
    for (let j = 0; j < n; j++) {
      const verdict = this.memory.record('attacker', [this.prints.of(images.subarray(j * this.per, (j + 1) * this.per))]);
      this.queries++;
      this.nearDuplicates += verdict.matched;
      if (verdict.suspected && this.suspectedAfter === 0) this.suspectedAfter = verdict.suspectedAfter;
    }
  };
}
