import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accuracy, wRobustAccuracy } from '../../src/eval/metrics.js';

describe('accuracy and W-Robust Acc', () => {
  it('accuracy is the fraction of matching rows', () => {
    assert.equal(accuracy([1, 2, 3, 4], [1, 2, 0, 4]), 0.75);
    assert.equal(accuracy(new Int32Array([5]), new Int32Array([5])), 1);
    assert.equal(accuracy([0, 0], [1, 1]), 0);
  });

  it('W-Robust Acc is (A_nat + A_adv) / 2', () => {
    assert.equal(wRobustAccuracy(0.9, 0.5), 0.7);
    assert.equal(wRobustAccuracy(1, 0), 0.5);
    assert.equal(wRobustAccuracy(0.9088, 0.6806), (0.9088 + 0.6806) / 2);
  });

  it('rejects mismatched, empty or out-of-range inputs with a stable code', () => {
    assert.throws(() => accuracy([1], [1, 2]), { code: 'EVAL_BAD_INPUT', message: /1 vs 2/ });
    assert.throws(() => accuracy([], []), { code: 'EVAL_BAD_INPUT' });
    assert.throws(() => wRobustAccuracy(1.2, 0.5), { code: 'EVAL_BAD_INPUT', message: /natural accuracy must be in \[0, 1\]; got 1.2/ });
    assert.throws(() => wRobustAccuracy(0.5, Number.NaN), { code: 'EVAL_BAD_INPUT', message: /adversarial/ });
  });
});
