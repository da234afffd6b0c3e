import { AttackOracleError } from '../src/attacks/errors.js';
import { HttpOracle } from '../src/attacks/http-oracle.js';
import type { OracleAnswer, OracleShape, ScoreOracle } from '../src/attacks/score-oracle.js';
import { squareAttack } from '../src/attacks/square.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { encodeImage } from '../src/server/image.js';

// The two clients of the query-attack measurements (test/server/query-attack/query-attack-effect.test.ts
// and bench/query-attack.ts): a Square Attack over HTTP and a clean client sending distinct
// Fashion-MNIST test images, each with its own API key.

export const KEY_HEADER = 'x-api-key';
export const ATTACKER = 'attacker-key';
export const CLEAN = 'clean-client-key';
export const SUSPECTED_HEADER = 'x-query-attack-suspected';
export const EPS = 0.1;

/**
 * The service as the attacker sees it when throttled: a refused query (429) is spent and
 * tells nothing, so it answers the true class with certainty, which the attack never keeps.
 * Which target a candidate belongs to is found by its distance (each is within eps of one).
 */
export class SpentQueryOracle implements ScoreOracle {
  readonly shape: OracleShape;
  readonly numClasses: number;
  attempted = 0;
  refused = 0;

  constructor(
    private readonly inner: HttpOracle,
    private readonly targets: Float32Array,
    private readonly labels: Int32Array,
    /** Sees every query the attack makes (the benchmark fingerprints them). */
    private readonly observe?: (images: Float32Array, n: number) => void,
  ) {
    this.shape = inner.shape;
    this.numClasses = inner.numClasses;
  }

  async query(images: Float32Array, n: number): Promise<OracleAnswer> {
    this.attempted += n;
    this.observe?.(images, n);
    try {
      return await this.inner.query(images, n);
    } catch (error) {
      if (!(error instanceof AttackOracleError) || error.status !== 429) throw error;
      this.refused += n;
      return this.uninformative(images, n);
    }
  }

  private uninformative(images: Float32Array, n: number): OracleAnswer {
    const per = this.shape.height * this.shape.width * this.shape.channels;
    const k = this.numClasses;
    const probabilities = new Float32Array(n * k);
    for (let j = 0; j < n; j++) {
      const candidate = images.subarray(j * per, (j + 1) * per);
      let target = 0;
      let best = Infinity;
      for (let t = 0; t < this.labels.length; t++) {
        let d = 0;
        for (let p = 0; p < per && d < best; p++) d = Math.max(d, Math.abs(candidate[p]! - this.targets[t * per + p]!));
        if (d < best) [best, target] = [d, t];
      }
      probabilities[j * k + this.labels[target]!] = 1;
    }
    return { probabilities, scores: new Float32Array(n) };
  }
}

export interface AttackRun {
  readonly fooled: number;
  readonly targets: number;
  /** Images sent (answered or refused). */
  readonly attempted: number;
  readonly refused: number;
  readonly seconds: number;
}

/** The plain Square Attack (stops at the first success) on `labels.length` targets, `queries` attempts each. */
export async function runSquare(
  url: string,
  model: string,
  x: Float32Array,
  labels: Int32Array,
  queries: number,
  observe?: (images: Float32Array, n: number) => void,
): Promise<AttackRun> {
  const oracle = await HttpOracle.fromService(url, model, 16, { [KEY_HEADER]: ATTACKER });
  const spent = new SpentQueryOracle(oracle, x, labels, observe);
  const started = performance.now();
  const result = await squareAttack(spent, x, labels, { eps: EPS, queries, seed: 1, levels: 255 });
  return {
    fooled: result.fooled.reduce((a, f) => a + f, 0),
    targets: labels.length,
    attempted: spent.attempted,
    refused: spent.refused,
    seconds: (performance.now() - started) / 1000,
  };
}

export interface CleanRun {
  readonly sent: number;
  readonly ok: number;
  readonly refused: number;
  /** Answers that carried the suspected-client header. */
  readonly marked: number;
}

/** A clean client: each image once, one per request, as fast as answers come back. */
export async function runClean(url: string, model: string, pngs: readonly Buffer[]): Promise<CleanRun> {
  let ok = 0;
  let refused = 0;
  let marked = 0;
  for (const png of pngs) {
    const response = await fetch(`${url}/v1/models/${encodeURIComponent(model)}/classify`, {
      method: 'POST',
      headers: { 'content-type': 'image/png', [KEY_HEADER]: CLEAN },
      body: new Uint8Array(png),
    });
    await response.arrayBuffer();
    if (response.status === 200) ok++;
    if (response.status === 429) refused++;
    if (response.headers.get(SUSPECTED_HEADER) !== null) marked++;
  }
  return { sent: pngs.length, ok, refused, marked };
}

/** Fashion-MNIST test images from `offset`: pixels (NHWC = NCHW, one channel), labels and PNGs. */
export async function testImages(offset: number, n: number): Promise<{ x: Float32Array; labels: Int32Array; pngs: Buffer[] }> {
  const data = await loadFashionMnist({ split: 'test', limit: offset + n });
  const per = 28 * 28;
  const x = data.images.slice(offset * per, (offset + n) * per);
  const labels = data.labels.slice(offset, offset + n);
  const pngs = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      encodeImage(Uint8Array.from(x.subarray(i * per, (i + 1) * per), (v) => Math.round(v * 255)), { channels: 1, height: 28, width: 28 }, 'png'),
    ),
  );
  return { x, labels, pngs };
}

/**
 * The `n` targets the attacker would pick among `pool` test images: classified right, with
 * the smallest margin (asked once, under a key of its own so the attacker's record stays clean).
 */
export async function pickTargets(url: string, model: string, n: number, pool: number): Promise<{ x: Float32Array; labels: Int32Array }> {
  const { x, labels } = await testImages(0, pool);
  const oracle = await HttpOracle.fromService(url, model, 16, { [KEY_HEADER]: 'target-picker' });
  const answer = await oracle.query(x, pool);
  const k = oracle.numClasses;
  const margins = Array.from({ length: pool }, (_, i) => {
    const p = answer.probabilities.subarray(i * k, (i + 1) * k);
    const y = labels[i]!;
    const other = Math.max(...Array.from(p).filter((_, j) => j !== y));
    return { i, margin: p[y]! - other };
  }).filter((m) => m.margin > 0);
  const chosen = margins.sort((a, b) => a.margin - b.margin).slice(0, n).map((m) => m.i);
  const per = 28 * 28;
  const out = new Float32Array(chosen.length * per);
  chosen.forEach((i, j) => out.set(x.subarray(i * per, (i + 1) * per), j * per));
  return { x: out, labels: Int32Array.from(chosen, (i) => labels[i]!) };
}
