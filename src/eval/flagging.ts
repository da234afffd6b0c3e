/**
 * What production sees: the service flags an image when its adversarial score is strictly
 * above the model's threshold, and an attack gets through when its example is both
 * misclassified and not flagged. A model without a router has no score (null here; its
 * exported score is a constant 0), so it flags nothing.
 */

/** The predictions and scores of one pass over the first `count` images. */
export interface Pass {
  readonly predicted: Int32Array;
  /** null: a model without a router. */
  readonly score: Float32Array | null;
}

const flagged = (pass: Pass, threshold: number, i: number): boolean => pass.score !== null && (pass.score[i] as number) > threshold;

/** Fraction of the first `count` images the service would flag. */
export function flagRate(pass: Pass, threshold: number, count: number): number {
  if (pass.score === null || count === 0) return 0;
  let n = 0;
  for (let i = 0; i < count; i++) if (flagged(pass, threshold, i)) n++;
  return n / count;
}

/** Fraction of the first `count` images that are misclassified and not flagged. */
export function getsThrough(pass: Pass, labels: ArrayLike<number>, threshold: number, count: number): number {
  if (count === 0) return 0;
  let n = 0;
  for (let i = 0; i < count; i++) if (pass.predicted[i] !== labels[i] && !flagged(pass, threshold, i)) n++;
  return n / count;
}

export interface WorstCase {
  /** Images classified correctly under every attack (robust accuracy). */
  readonly accuracy: number;
  /** Images for which at least one attack's example is misclassified and not flagged. */
  readonly getsThrough: number;
}

/** The per-image worst case over several attacks' passes on the same `count` images. */
export function worstCase(passes: readonly Pass[], labels: ArrayLike<number>, threshold: number, count: number): WorstCase {
  if (count === 0) return { accuracy: 0, getsThrough: 0 };
  let robust = 0;
  let through = 0;
  for (let i = 0; i < count; i++) {
    let correct = true;
    let escaped = false;
    for (const pass of passes) {
      if (pass.predicted[i] === labels[i]) continue;
      correct = false;
      if (!flagged(pass, threshold, i)) escaped = true;
    }
    if (correct) robust++;
    if (escaped) through++;
  }
  return { accuracy: robust / count, getsThrough: through / count };
}
