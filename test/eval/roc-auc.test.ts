import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rocAuc } from '../../src/eval/roc-auc.js';

/** The definition itself: P(positive > negative) + ½ P(tie), over all pairs. */
function pairwiseAuc(neg: readonly number[], pos: readonly number[]): number {
  let s = 0;
  for (const p of pos) for (const n of neg) s += p > n ? 1 : p === n ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

/** Deterministic pseudo-random numbers (an LCG), coarsened so ties occur. */
function scores(count: number, seed: number, shift: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round(((s >>> 8) / 2 ** 24 + shift) * 20) / 20;
  });
}

describe('rocAuc', () => {
  it('is 1 for a perfect detector and 0 for a perfectly inverted one', () => {
    assert.equal(rocAuc([0.1, 0.2, 0.3], [0.7, 0.8, 0.9, 0.95]), 1);
    assert.equal(rocAuc([0.7, 0.8, 0.9], [0.1, 0.2]), 0);
  });

  it('is exactly 0.5 when every score ties', () => {
    assert.equal(rocAuc([0.4, 0.4, 0.4], [0.4, 0.4]), 0.5);
  });

  it('counts ties as one half (hand-computed example)', () => {
    // Pairs (pos, neg): 0.5 vs {0.2, 0.5, 0.8} → 1 + ½ + 0; 0.9 vs all → 3. (4.5) / 6.
    assert.equal(rocAuc([0.2, 0.5, 0.8], [0.5, 0.9]), 4.5 / 6);
    // One positive below one negative: 3 of 4 pairs won.
    assert.equal(rocAuc([0.1, 0.6], [0.5, 0.9]), 0.75);
  });

  it('agrees with the pairwise definition on random scores with many ties', () => {
    for (const [seed, shift] of [[1, 0], [2, 0.2], [3, 0.5], [4, -0.3]] as const) {
      const neg = scores(300, seed, 0);
      const pos = scores(211, seed + 100, shift);
      assert.ok(Math.abs(rocAuc(neg, pos) - pairwiseAuc(neg, pos)) < 1e-12);
    }
  });

  it('is near 0.5 for a detector that knows nothing', () => {
    const auc = rocAuc(scores(2000, 7, 0), scores(2000, 8, 0));
    assert.ok(Math.abs(auc - 0.5) < 0.03, `AUC ${auc}`);
  });

  it('accepts typed arrays', () => {
    assert.equal(rocAuc(new Float32Array([0, 0.25]), new Float32Array([0.5, 1])), 1);
  });

  it('rejects empty classes and NaN with a stable code', () => {
    assert.throws(() => rocAuc([], [0.3]), { code: 'EVAL_BAD_INPUT', message: /0 negatives and 1 positives/ });
    assert.throws(() => rocAuc([0.2], []), { code: 'EVAL_BAD_INPUT' });
    assert.throws(() => rocAuc([0.2, Number.NaN], [0.3]), { code: 'EVAL_BAD_INPUT', message: /NaN at negative 1/ });
  });
});
