import { AttackInputError, AttackOptionsError } from './errors.js';
import { checkEps } from './linf.js';
import { attackRandom, randomInt, randomSign } from './random.js';
import type { OracleAnswer, ScoreOracle } from './score-oracle.js';

export interface SquareOptions {
  readonly eps: number;
  /** Oracle queries allowed per image, the first (the starting point) included; default 5000. */
  readonly queries?: number;
  /** Fraction of the pixels the first squares cover (p_init); default 0.8, AutoAttack's. */
  readonly pInit?: number;
  readonly seed?: number | string;
  /**
   * Detector-aware: minimise max(m, 0) − λ·log P(clean) (m the log-probability margin of the
   * true class) for the whole budget, returning per image the misclassified point with the
   * lowest adversarial score. Undefined: the plain attack, which stops at the first success.
   */
  readonly lambda?: number;
  /** Round each perturbation towards the clean pixel to a multiple of 1/levels (255: what a PNG carries). */
  readonly levels?: number;
}

export interface SquareResult {
  /** n NHWC images inside the eps-ball around x and [0, 1]. */
  readonly adversarial: Float32Array;
  /** Queries spent per image (at most the budget). */
  readonly queries: Int32Array;
  /** 1 where the returned image is misclassified. */
  readonly fooled: Uint8Array;
}

export const SQUARE_DEFAULT_QUERIES = 5000;
export const SQUARE_P_INIT = 0.8;

/**
 * The fraction of pixels a square covers at iteration `it` of an `budget`-query run: p_init
 * halved at iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of a 10,000-query run,
 * the iteration rescaled to the budget (Andriushchenko et al. 2020, as AutoAttack runs it).
 */
export function squareFraction(it: number, budget: number, pInit = SQUARE_P_INIT): number {
  const i = Math.floor((it / budget) * 10000);
  const halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000].filter((t) => i > t).length;
  return pInit / 2 ** halvings;
}

/** Margin of the true class in log-probabilities (equal to the logit margin): > 0 while correct. */
function margin(answer: OracleAnswer, row: number, k: number, label: number): { margin: number; wrong: boolean } {
  const p = answer.probabilities.subarray(row * k, (row + 1) * k);
  const log = (v: number): number => Math.log(Math.max(v, 1e-30));
  let other = -Infinity;
  let top = 0;
  for (let j = 0; j < k; j++) {
    if ((p[j] as number) > (p[top] as number)) top = j;
    if (j !== label) other = Math.max(other, log(p[j] as number));
  }
  return { margin: log(p[label] as number) - other, wrong: top !== label };
}

/**
 * The Square Attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020), L∞: a random
 * search that only queries scores. It starts from vertical stripes of ±ε and then, per query,
 * sets a random square window (per channel one sign) of the current best point to x ± ε,
 * keeping the change when the loss drops; the window shrinks with `squareFraction`. The plain
 * attack minimises the margin and stops at the first misclassification.
 */
export async function squareAttack(oracle: ScoreOracle, x: Float32Array, labels: Int32Array, options: SquareOptions): Promise<SquareResult> {
  const { height: h, width: w, channels: c } = oracle.shape;
  const per = h * w * c;
  const n = labels.length;
  const k = oracle.numClasses;
  const eps = options.eps;
  const budget = options.queries ?? SQUARE_DEFAULT_QUERIES;
  const pInit = options.pInit ?? SQUARE_P_INIT;
  const lambda = options.lambda;
  checkEps(eps);
  if (!Number.isInteger(budget) || budget < 1) throw new AttackOptionsError(`queries must be an integer >= 1; got ${String(budget)}`);
  if (!(pInit > 0 && pInit <= 1)) throw new AttackOptionsError(`pInit must be in (0, 1]; got ${String(pInit)}`);
  if (lambda !== undefined && !(Number.isFinite(lambda) && lambda >= 0)) throw new AttackOptionsError(`lambda must be a finite number >= 0; got ${String(lambda)}`);
  if (x.length !== n * per) throw new AttackInputError(`x must hold ${n} images of ${h}×${w}×${c}; got ${x.length} values`);
  const next = attackRandom(options.seed ?? 0, 'square');
  const levels = options.levels;
  const place = (clean: number, value: number): number => {
    let v = Math.min(Math.max(value, clean - eps), clean + eps);
    if (levels !== undefined) v = clean + (Math.sign(v - clean) * Math.floor(Math.abs(v - clean) * levels + 1e-4)) / levels;
    return Math.min(Math.max(v, 0), 1);
  };

  const best = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    for (let col = 0; col < w; col++) {
      for (let ch = 0; ch < c; ch++) {
        const s = randomSign(next);
        for (let row = 0; row < h; row++) {
          const at = i * per + (row * w + col) * c + ch;
          best[at] = place(x[at] as number, (x[at] as number) + s * eps);
        }
      }
    }
  }
  const adversarial = Float32Array.from(best);
  const queries = new Int32Array(n);
  const fooled = new Uint8Array(n);
  const loss = new Float64Array(n);
  const key = new Float64Array(n).fill(-Infinity);

  /** Queries the candidates of `rows` and keeps, per image, the lower loss and the higher key. */
  const consider = async (rows: readonly number[], candidates: Float32Array, first: boolean): Promise<void> => {
    const answer = await oracle.query(candidates, rows.length);
    rows.forEach((i, j) => {
      queries[i] = (queries[i] as number) + 1;
      const m = margin(answer, j, k, labels[i] as number);
      const logClean = Math.log(Math.max(1 - (answer.scores[j] as number), 1e-30));
      const value = lambda === undefined ? m.margin : Math.max(m.margin, 0) - lambda * logClean;
      const candidate = candidates.subarray(j * per, (j + 1) * per);
      if (first || value < (loss[i] as number) || (lambda === undefined && m.wrong)) {
        loss[i] = value;
        best.set(candidate, i * per);
      }
      const rank = m.wrong ? 1e4 + (lambda === undefined ? 0 : Math.max(logClean, -1e3)) : -Math.min(m.margin, 1e3);
      if (rank > (key[i] as number)) {
        key[i] = rank;
        fooled[i] = m.wrong ? 1 : 0;
        adversarial.set(candidate, i * per);
      }
    });
  };

  await consider([...Array(n).keys()], Float32Array.from(best), true);
  for (let it = 0; ; it++) {
    const rows = [...Array(n).keys()].filter((i) => (queries[i] as number) < budget && !(lambda === undefined && fooled[i] === 1));
    if (rows.length === 0) break;
    const side = Math.min(Math.max(Math.round(Math.sqrt(squareFraction(it, budget, pInit) * h * w)), 1), h, w);
    const candidates = new Float32Array(rows.length * per);
    rows.forEach((i, j) => {
      const out = candidates.subarray(j * per, (j + 1) * per);
      out.set(best.subarray(i * per, (i + 1) * per));
      // Redraw a window that would change nothing (it already sits at those vertices).
      for (let attempt = 0; attempt < 10; attempt++) {
        const top = randomInt(next, 0, h - side);
        const left = randomInt(next, 0, w - side);
        let changed = false;
        for (let ch = 0; ch < c; ch++) {
          const s = randomSign(next);
          for (let r = top; r < top + side; r++) {
            for (let q = left; q < left + side; q++) {
              const at = (r * w + q) * c + ch;
              const clean = x[i * per + at] as number;
              const v = place(clean, clean + s * eps);
              if (v !== out[at]) changed = true;
              out[at] = v;
            }
          }
        }
        if (changed) break;
      }
    });
    await consider(rows, candidates, false);
  }
  return { adversarial, queries, fooled };
}
