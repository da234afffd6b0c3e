import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertOutcome, alertSpans, average, campaignCounts, peak, spansOf, summed } from '../../../bench/drill/timeline.js';
import type { RangeSeries } from '../../../bench/drill/prometheus-api.js';

/** An ALERTS series present (value 1) at the given times. */
const alerts = (alertname: string, alertstate: string, times: number[]): RangeSeries => ({ metric: { __name__: 'ALERTS', alertname, alertstate }, values: times.map((t) => [t, '1']) });
const range = (from: number, to: number, step = 1): number[] => Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);

describe('the drill timeline from a recorded alert series', () => {
  it('joins samples one step apart into spans that end one step after their last sample, open at the record end', () => {
    assert.deepEqual(spansOf([10, 11, 12, 20, 21], 1, 30), [
      { start: 10, end: 13 },
      { start: 20, end: 22 },
    ]);
    assert.deepEqual(spansOf([28, 29, 30], 1, 30), [{ start: 28, end: null }]);
    assert.deepEqual(spansOf([], 1, 30), []);
  });

  it('measures time to fire from the campaign start and time to resolve from its end', () => {
    const spans = alertSpans([alerts('AwnetAdversarialTrafficSpike', 'pending', range(104, 105)), alerts('AwnetAdversarialTrafficSpike', 'firing', range(106, 125))], 1, 200);
    const o = alertOutcome('AwnetAdversarialTrafficSpike', spans.get('AwnetAdversarialTrafficSpike'), { start: 100, end: 120 });
    assert.deepEqual(o, { alert: 'AwnetAdversarialTrafficSpike', fired: true, pendingOnly: false, toFire: 6, toResolve: 6 });
  });

  it('tells an alert that went pending only, one that never did, one still firing and one that fired before the campaign', () => {
    const spans = alertSpans(
      [alerts('A', 'pending', range(101, 103)), alerts('B', 'firing', range(110, 150)), alerts('C', 'firing', range(50, 60)), alerts('D', 'inactive', [105])],
      1,
      150,
    );
    const campaign = { start: 100, end: 130 };
    assert.deepEqual(alertOutcome('A', spans.get('A'), campaign), { alert: 'A', fired: false, pendingOnly: true, toFire: null, toResolve: null });
    assert.deepEqual(alertOutcome('B', spans.get('B'), campaign), { alert: 'B', fired: true, pendingOnly: false, toFire: 10, toResolve: null });
    assert.equal(alertOutcome('C', spans.get('C'), campaign).fired, false, 'a span that ended before the campaign is not its alert');
    assert.equal(spans.has('D'), false);
    assert.deepEqual(alertOutcome('E', undefined, campaign), { alert: 'E', fired: false, pendingOnly: false, toFire: null, toResolve: null });
  });

  it('sums series per timestamp and reads their peak within a span', () => {
    const points = summed([
      { metric: { pod: 'a' }, values: [[1, '0.1'], [2, '0.3'], [3, 'NaN']] },
      { metric: { pod: 'b' }, values: [[2, '0.2'], [3, '0.5']] },
    ]);
    assert.deepEqual(points, [{ t: 1, v: 0.1 }, { t: 2, v: 0.5 }, { t: 3, v: 0.5 }]);
    assert.equal(peak(points, { start: 2.5, end: null }), 0.5);
    assert.equal(peak(points, { start: 0, end: 1 }), 0.1);
    assert.equal(average(points, { start: 1, end: 2 }), 0.3);
    assert.equal(average(points, { start: 5, end: null }), null);
  });

  it('counts what got through (misclassified, unflagged) before the first alert', () => {
    const answers = [
      { at: 1000, status: 200, flagged: false, score: 0.1, wrong: true },
      { at: 2000, status: 200, flagged: true, score: 0.9, wrong: true },
      { at: 3000, status: 200, flagged: false, score: 0.0, wrong: false },
      { at: 4000, status: 200, flagged: false, score: 0.2, wrong: true },
      { at: 5000, status: 400, flagged: false, score: NaN, wrong: false },
    ];
    const counts = campaignCounts(answers, 3.5);
    assert.deepEqual({ ...counts, meanScore: undefined }, { answered: 4, refused: 1, flagged: 1, through: 2, throughBeforePage: 1, meanScore: undefined });
    assert.ok(Math.abs((counts.meanScore ?? 0) - 0.3) < 1e-9, `mean score ${counts.meanScore} over the answered images`);
    assert.equal(campaignCounts(answers.slice(4), null).meanScore, null, 'refused requests carry no score');
    assert.equal(campaignCounts(answers, null).throughBeforePage, 2, 'no page: everything that got through did so unseen');
  });
});
