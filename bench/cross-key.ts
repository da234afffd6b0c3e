import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { modelOracle, type ScoreOracle } from '../src/attacks/score-oracle.js';
import { squareAttack } from '../src/attacks/square.js';
import { jpegRoundTrip } from '../src/image/jpeg.js';
import { loadCheckpoint } from '../src/model/index.js';
import { initBackend } from '../src/tf/backend.js';
import { CrossKeyMemory, type CrossKeySettings } from '../src/server/query-attack/cross-key-memory.js';
import { queryAttackConfig } from '../src/server/query-attack/query-attack-config.js';
import { Fingerprinter } from '../src/server/query-attack/query-fingerprint.js';
import { EPS, testImages } from './drill/adversary.js';
import { servedCheckpoint } from './drill/served-model.js';

// npm run bench -- --cross-key (node dist/bench/serve.js --cross-key): can honest traffic set
// off query detection across client keys, and how soon does it catch a Square Attack sent
// under a new key per query? In process, at the service's default settings, on a simulated
// clock; writes cross-key.json. docs/query-attacks.md quotes these figures.

const PER = 28 * 28;
/** The drill's background: 40 distinct clean images a second from 50 keys. */
const RATE = 40;
const KEYS = 50;

export interface StreamFigures {
  readonly requests: number;
  readonly keys: number;
  /** Clusters that became suspected. */
  readonly suspected: number;
  /** The largest cluster seen (sampled every 50 requests): distinct images and keys. */
  readonly largest: { readonly images: number; readonly clients: number };
  /** Honest images that joined a suspected cluster. */
  readonly honestInSuspected: number;
  /** Median cost of recording one image (fingerprint excluded), µs. */
  readonly recordMicroseconds: number;
  readonly attack?: { readonly images: number; readonly imagesBeforeSuspected: number; readonly targets: number; readonly fooled: number };
}

/** The detector at the service's defaults, fed one request at a time on a simulated clock. */
class Judge {
  time = 0;
  requests = 0;
  suspected = 0;
  honestInSuspected = 0;
  attackImages = 0;
  attackBeforeSuspected = -1;
  readonly keys = new Set<string>();
  readonly largest = { images: 0, clients: 0 };
  private readonly times: number[] = [];
  private readonly prints = new Fingerprinter(1);
  private readonly memory: CrossKeyMemory;

  constructor(settings: Omit<CrossKeySettings, 'now'>) {
    this.memory = new CrossKeyMemory({ ...settings, now: () => this.time });
  }

  send(key: string, image: Float32Array, attack = false): void {
    const print = this.prints.of(image);
    const started = performance.now();
    const verdict = this.memory.record(key, [print]);
    this.times.push((performance.now() - started) * 1000);
    this.requests++;
    this.keys.add(key);
    this.suspected += verdict.newlySuspected.length;
    if (attack) this.attackImages++;
    if (attack && verdict.newlySuspected.length > 0 && this.attackBeforeSuspected < 0) this.attackBeforeSuspected = this.attackImages;
    if (!attack) this.honestInSuspected += verdict.matched;
    if (this.requests % 50 === 0) {
      const now = this.memory.largest();
      if (now && now.images > this.largest.images) Object.assign(this.largest, { images: now.images, clients: now.clientCount });
    }
  }

  figures(attack?: StreamFigures['attack']): StreamFigures {
    const sorted = [...this.times].sort((a, b) => a - b);
    return {
      requests: this.requests,
      keys: this.keys.size,
      suspected: this.suspected,
      largest: { ...this.largest },
      honestInSuspected: this.honestInSuspected,
      recordMicroseconds: sorted[Math.floor(sorted.length / 2)] ?? 0,
      ...(attack ? { attack } : {}),
    };
  }
}

export interface CrossKeyReport {
  readonly settings: Omit<CrossKeySettings, 'now'>;
  readonly streams: Record<string, StreamFigures>;
}

export async function writeCrossKeyReport(out: string): Promise<CrossKeyReport> {
  const { crossKey, windowSeconds } = queryAttackConfig({});
  const settings = { threshold: crossKey.threshold, minClients: crossKey.minClients, memory: crossKey.memory, windowSeconds };
  const log = (line: string) => process.stderr.write(`cross-key: ${line}\n`);
  const test = await testImages(10_000);
  const image = (i: number) => test.clean.subarray(i * PER, (i + 1) * PER);
  const POPULAR = 20;
  const popular = (i: number) => image(10_000 - POPULAR + (i % POPULAR));
  // Each fan's own JPEG quality, drawn from 1 to 100: every version JPEG quality can make, far more than real apps do.
  const QUALITIES = 100;
  const jpeg = await Promise.all(Array.from({ length: QUALITIES }, (_, q) => jpegRoundTrip(test.clean.subarray((10_000 - POPULAR) * PER), POPULAR, { height: 28, width: 28, channels: 1 }, 1 + q)));
  let draw = 1;
  const qualities: number[] = [];
  const fanQuality = (i: number) => (qualities[i] ??= ((draw = (Math.imul(draw, 1664525) + 1013904223) >>> 0) >>> 8) % QUALITIES);
  const streams: Record<string, StreamFigures> = {};

  const background = (judge: Judge, n: number, offset = 0) => {
    for (let i = 0; i < n; i++) {
      judge.time += 1000 / RATE;
      judge.send(`clean-${(offset + i) % KEYS}`, image((offset + i) % (10_000 - POPULAR)));
    }
  };

  let judge = new Judge(settings);
  background(judge, 10_000 - POPULAR);
  streams.distinct = judge.figures();
  log(`distinct: ${JSON.stringify(streams.distinct)}`);

  for (const [id, pick] of [
    ['popular-unchanged', (i: number) => popular(i)],
    ['popular-reencoded', (i: number) => jpeg[fanQuality(i)]!.subarray((i % POPULAR) * PER, ((i % POPULAR) + 1) * PER)],
  ] as const) {
    judge = new Judge(settings);
    // Half the traffic: 20 popular images, each sent by 500 fans of its own.
    for (let i = 0; i < 10_000; i++) {
      background(judge, 1, i);
      judge.time += 1000 / RATE;
      judge.send(`fan-${i}`, pick(i));
    }
    streams[id] = judge.figures();
    log(`${id}: ${JSON.stringify(streams[id])}`);
  }

  const checkpoint = servedCheckpoint();
  if (checkpoint === undefined) throw new Error('no checkpoint beside the served model: the Square Attack needs its weights');
  await initBackend();
  const model = (await loadCheckpoint(checkpoint)).model;
  const targets = await testImages(8, 64);
  for (const [id, lambda] of [['square-plain-spread', undefined], ['square-evading-spread', 1]] as const) {
    judge = new Judge(settings);
    background(judge, 400);
    const inner = modelOracle(model);
    let query = 0;
    // 10 queries a second, a new key for each, amid the background.
    const oracle: ScoreOracle = {
      shape: inner.shape,
      numClasses: inner.numClasses,
      query: (images, n) => {
        background(judge, RATE / 10, 400 + query * 4);
        for (let j = 0; j < n; j++) judge.send(`attacker-key-${query}`, images.subarray(j * PER, (j + 1) * PER), true);
        query++;
        return inner.query(images, n);
      },
    };
    const result = await squareAttack(oracle, targets.clean, targets.labels, { eps: EPS, queries: 500, seed: 3, levels: 255, ...(lambda === undefined ? {} : { lambda }) });
    streams[id] = judge.figures({ images: judge.attackImages, imagesBeforeSuspected: judge.attackBeforeSuspected, targets: targets.n, fooled: result.fooled.reduce((s, v) => s + v, 0) });
    log(`${id}: ${JSON.stringify(streams[id])}`);
  }
  model.dispose();
  const report = { settings, streams };
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'cross-key.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}
