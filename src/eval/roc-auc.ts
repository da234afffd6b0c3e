import { EvalError } from './errors.js';

/**
 * Area under the ROC curve of a detector whose score should be higher on positives,
 * computed exactly as the Mann–Whitney U statistic: the probability that a random
 * positive scores above a random negative, ties counting one half. Tied scores get
 * their average rank, so a detector that outputs a constant scores exactly 0.5.
 */
export function rocAuc(negatives: ArrayLike<number>, positives: ArrayLike<number>): number {
  const nNeg = negatives.length;
  const nPos = positives.length;
  if (nNeg === 0 || nPos === 0) {
    throw new EvalError(
      'EVAL_BAD_INPUT',
      `ROC-AUC needs at least one negative and one positive score; got ${nNeg} negatives and ${nPos} positives`,
    );
  }
  const scores = new Float64Array(nNeg + nPos);
  for (let i = 0; i < nNeg + nPos; i++) {
    const score = i < nNeg ? Number(negatives[i]) : Number(positives[i - nNeg]);
    if (Number.isNaN(score)) {
      throw new EvalError('EVAL_BAD_INPUT', `ROC-AUC scores must be numbers; got NaN at ${i < nNeg ? 'negative' : 'positive'} ${i < nNeg ? i : i - nNeg}`);
    }
    scores[i] = score;
  }
  const order = Array.from(scores.keys()).sort((a, b) => (scores[a] ?? 0) - (scores[b] ?? 0));

  let positiveRankSum = 0;
  let i = 0;
  while (i < order.length) {
    const score = scores[order[i] ?? 0];
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1] ?? 0] === score) j++;
    // Ranks are 1-based; the tie group i..j shares the mean of ranks i+1..j+1.
    const meanRank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) if ((order[k] ?? 0) >= nNeg) positiveRankSum += meanRank;
    i = j + 1;
  }
  const u = positiveRankSum - (nPos * (nPos + 1)) / 2;
  return u / (nPos * nNeg);
}
