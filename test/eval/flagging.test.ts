import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/data/rng.js';
import { attackSuite, selectAttacks } from '../../src/eval/attack-suite.js';
import { planStages, type BatchOutputs, type Prediction } from '../../src/eval/batch-runner.js';
import { benignSettings } from '../../src/eval/benign.js';
import { flagRate, getsThrough, worstCase, type Pass } from '../../src/eval/flagging.js';
import { ModelOutputs } from '../../src/eval/summarise.js';
import { FREE_HOLD } from '../../src/model/router-hold.js';
import { givenThreshold, noRouterThreshold } from '../../src/eval/threshold.js';

const pass = (predicted: number[], score: number[] | null): Pass => ({
  predicted: Int32Array.from(predicted),
  score: score === null ? null : Float32Array.from(score),
});

describe('flag rate and gets-through', () => {
  const labels = [0, 1, 2, 3, 4];
  it('flags strictly above the threshold; an unflagged mistake gets through', () => {
    // Rows: right+flagged, wrong+flagged, wrong at exactly the threshold, wrong+low, right+low.
    const p = pass([0, 0, 0, 0, 4], [0.9, 0.8, 0.5, 0.1, 0.2]);
    assert.equal(flagRate(p, 0.5, 5), 2 / 5);
    assert.equal(getsThrough(p, labels, 0.5, 5), 2 / 5, 'rows 2 and 3');
    assert.equal(getsThrough(p, labels, 0.85, 5), 3 / 5, 'row 1 now unflagged too');
    assert.equal(flagRate(p, 1, 5), 0);
  });

  it('a model without a router flags nothing: what gets through is its error rate', () => {
    const p = pass([0, 0, 0, 0, 4], null);
    assert.equal(flagRate(p, 0, 5), 0);
    assert.equal(getsThrough(p, labels, 0, 5), 3 / 5);
    assert.deepEqual(worstCase([p, pass([0, 1, 0, 3, 0], null)], labels, 0, 5), { accuracy: 1 / 5, getsThrough: 4 / 5 });
  });

  it('worst case: robust only if every attack fails; through if any attack gets through', () => {
    const a = pass([0, 1, 9, 9, 4], [0, 0, 0.9, 0.1, 0]);
    const b = pass([0, 9, 2, 9, 9], [0, 0.9, 0, 0.9, 0.9]);
    const w = worstCase([a, b], labels, 0.5, 5);
    assert.equal(w.accuracy, 1 / 5, 'only row 0 survives both');
    // Row 1: b wrong but flagged; row 2: a wrong but flagged; row 3: a wrong, unflagged; row 4: b wrong, flagged.
    assert.equal(w.getsThrough, 1 / 5);
  });

  it('the worst case is never above any single attack, nor does less get through', () => {
    const rng = new Rng(17);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + rng.int(40);
      const truth = Array.from({ length: n }, () => rng.int(3));
      const passes = Array.from({ length: 1 + rng.int(4) }, () =>
        pass(
          truth.map((y) => (rng.next() < 0.6 ? y : rng.int(3))),
          rng.next() < 0.2 ? null : truth.map(() => rng.next()),
        ),
      );
      const t = rng.next();
      const w = worstCase(passes, truth, t, n);
      for (const p of passes) {
        const single = worstCase([p], truth, t, n);
        assert.equal(single.getsThrough, getsThrough(p, truth, t, n));
        assert.ok(w.accuracy <= single.accuracy, `trial ${trial}: worst ${w.accuracy} above ${single.accuracy}`);
        assert.ok(w.getsThrough >= single.getsThrough, `trial ${trial}`);
      }
    }
  });
});

describe('ModelOutputs: production figures over batches, attacks on the first images only', () => {
  const labels = Int32Array.from([0, 1, 2, 3, 4, 5]);
  const attacks = selectAttacks(attackSuite(0.1), ['fgsm', 'pgd20-s4']);
  const plan = planStages(attacks, [], 1, benignSettings(0.1, ['blur-0.7']));
  const pred = (p: number[], s: number[] | null): Prediction => ({
    predicted: Int32Array.from(p),
    score: s === null ? null : Float32Array.from(s),
  });
  // Batches of three; the first four images are attacked.
  const batches = (router: boolean): [number, BatchOutputs][] => {
    const s = (v: number[]): number[] | null => (router ? v : null);
    return [
      [0, {
        clean: pred([0, 1, 9], s([0.1, 0.7, 0.2])),
        benign: [pred([0, 9, 2], s([0.6, 0.1, 0.1]))],
        stages: [pred([0, 9, 9], s([0.9, 0.2, 0.9])), pred([9, 9, 9], s([0.1, 0.9, 0.3]))],
        seconds: [1, 2],
      }],
      [3, {
        clean: pred([3, 4, 5], s([0.1, 0.1, 0.1])),
        benign: [pred([3, 4, 9], s([0.1, 0.8, 0.1]))],
        stages: [pred([3], s([0.1])), pred([9], s([0.4]))],
        seconds: [1, 1],
      }],
    ];
  };
  const info = { name: 'm', checkpoint: 'c', preset: 'p', variant: 'awnet', hold: FREE_HOLD };

  it('measures clean and benign on all images, attacks and the worst case on the attacked ones', () => {
    const outputs = new ModelOutputs(6, 4, plan);
    for (const [start, o] of batches(true)) outputs.add(start, o);
    const r = outputs.summarise(labels, info, { curveEps: [], threshold: givenThreshold(0.5), seconds: 0 });
    assert.equal(r.cleanAccuracy, 5 / 6);
    assert.equal(r.cleanFlagRate, 1 / 6);
    assert.equal(r.attackedCleanAccuracy, 3 / 4);
    assert.deepEqual(r.benign.map((b) => [b.id, b.accuracy, b.flagRate]), [['blur-0.7', 4 / 6, 2 / 6]]);
    const [fgsm, pgd] = r.attacks;
    assert.ok(fgsm && pgd);
    assert.deepEqual([fgsm.accuracy, fgsm.flagRate, fgsm.getsThrough], [2 / 4, 2 / 4, 1 / 4]);
    assert.deepEqual([pgd.accuracy, pgd.flagRate, pgd.getsThrough], [0, 1 / 4, 3 / 4]);
    assert.equal(fgsm.wRobust, (3 / 4 + 2 / 4) / 2, 'W-Robust uses the clean accuracy of the attacked images');
    assert.deepEqual(fgsm.seconds, 2);
    // Row 1 gets through FGSM unflagged; rows 0, 2 and 3 get through PGD.
    assert.deepEqual(r.worstCase, { attacks: ['fgsm', 'pgd20-s4'], accuracy: 0, getsThrough: 1, wRobust: 3 / 8 });
    assert.deepEqual(r.threshold, givenThreshold(0.5));
  });

  it('spans only the attacks asked for, and rejects one that did not run', () => {
    const outputs = new ModelOutputs(6, 4, plan);
    for (const [start, o] of batches(true)) outputs.add(start, o);
    const r = outputs.summarise(labels, info, { curveEps: [], threshold: givenThreshold(0.5), worstCase: ['fgsm'], seconds: 0 });
    assert.deepEqual(r.worstCase, { attacks: ['fgsm'], accuracy: 2 / 4, getsThrough: 1 / 4, wRobust: 5 / 8 });
    assert.throws(() => outputs.summarise(labels, info, { curveEps: [], threshold: givenThreshold(0.5), worstCase: ['cw30'], seconds: 0 }), {
      code: 'EVAL_BAD_OPTION',
    });
  });

  it('without a router nothing is flagged and gets-through equals the error rate', () => {
    const outputs = new ModelOutputs(6, 4, plan);
    for (const [start, o] of batches(false)) outputs.add(start, o);
    const r = outputs.summarise(labels, { ...info, variant: 'static' }, { curveEps: [], threshold: noRouterThreshold(), seconds: 0 });
    assert.equal(r.cleanFlagRate, 0);
    assert.equal(r.benign[0]?.flagRate, 0);
    for (const a of r.attacks) {
      assert.equal(a.flagRate, 0);
      assert.equal(a.getsThrough, 1 - a.accuracy);
      assert.equal(a.auc, null);
    }
    assert.equal(r.worstCase?.getsThrough, 1 - (r.worstCase?.accuracy ?? NaN));
  });
});
