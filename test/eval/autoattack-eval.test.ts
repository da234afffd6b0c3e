import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { AutoAttackConfig } from '../../src/attacks/autoattack.js';
import { attackSuite, evaluationSuite, namesPreset, selectAttacks } from '../../src/eval/attack-suite.js';
import { autoAttackSpecs } from '../../src/eval/autoattack-suite.js';
import { evaluateModels, type EvalDataset, type EvaluateOptions } from '../../src/eval/evaluate.js';
import type { EvaluationReport } from '../../src/eval/report.js';
import { formatTable } from '../../src/eval/table.js';
import { givenThreshold } from '../../src/eval/threshold.js';
import { mulberry32 } from '../../src/model/init.js';
import { LinearModel } from '../attacks/linear-model.js';
import { useWasm } from '../attacks/tiny-model.js';

const EPS = 0.05;
const TINY: AutoAttackConfig = { apgdSteps: 5, apgdRestarts: 1, apgdTargets: 2, fabSteps: 4, fabTargets: 2, fabRestarts: 1, squareQueries: 20 };
const ids = (specs: readonly { id: string }[]): string[] => specs.map((s) => s.id);

describe('AutoAttack in the evaluate command', () => {
  let model: LinearModel;
  let data: EvalDataset;
  let report: EvaluationReport;
  const stages = new Set<string>();
  const options = (attacks: EvaluateOptions['attacks'], worstCase?: string[]): EvaluateOptions => ({
    eps: EPS,
    batchSize: 16,
    seed: 1,
    attacks,
    attackCount: 30,
    curveEps: [],
    curveSteps: 1,
    backend: tf.getBackend(),
    ...(worstCase ? { worstCase } : {}),
  });

  before(async () => {
    await useWasm();
    model = new LinearModel({ side: 8, seed: 21, router: true });
    const next = mulberry32(8);
    const count = 40;
    const images = Float32Array.from({ length: count * 64 }, () => next());
    // Mostly the model's own answers, so most images are right when clean; every fifth is not.
    const labels = Int32Array.from({ length: count }, (_, i) => {
      const z = model.logits(images.subarray(i * 64, (i + 1) * 64));
      const top = z.indexOf(Math.max(...z));
      return i % 5 === 0 ? (top + 1) % 10 : top;
    });
    data = { name: 'linear', split: 'test', shape: { height: 8, width: 8, channels: 1 }, images, labels, count, labelNames: [...'0123456789'] };
    const entry = { name: 'linear', checkpoint: 'mem:linear', model, threshold: givenThreshold(0.5) };
    // Two batches of the 30 attacked images: the parts' counts are summed over batches.
    report = await evaluateModels([entry], data, { ...options(autoAttackSpecs(EPS, 'fast', TINY)), onProgress: (e) => stages.add(e.stage) });
  });
  after(() => model.dispose());

  it('reports the cascade with each part: robust accuracy after it, images, seconds, Square queries', () => {
    const m = report.models[0];
    assert.ok(m);
    assert.deepEqual(ids(m.attacks), ['aa-fast', 'apgd-adaptive-fast', 'square-adaptive-fast']);
    const aa = m.attacks[0];
    assert.ok(aa?.parts);
    assert.deepEqual(ids(aa.parts), ['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    assert.equal(aa.parts[0]?.attacked, Math.round(m.attackedCleanAccuracy * 30), 'the first part gets the images right when clean');
    aa.parts.forEach((p, i) => {
      const before = aa.parts?.[i - 1];
      if (before) assert.ok(p.attacked <= before.attacked && p.accuracy <= before.accuracy && p.attacked === Math.round(before.accuracy * 30), `${p.id} after ${before.id}`);
      assert.ok(p.seconds >= 0);
      assert.equal(p.queries === null, p.id !== 'square');
    });
    const last = aa.parts.at(-1);
    assert.equal(last?.accuracy, aa.accuracy, 'the stage is the per-image worst case of the cascade');
    assert.ok(aa.accuracy < m.attackedCleanAccuracy, `AutoAttack fooled nothing: ${aa.accuracy}`);
    assert.ok((last?.queries ?? 0) >= (last?.attacked ?? 0) && (last?.queries ?? Infinity) <= (last?.attacked ?? 0) * TINY.squareQueries);
    const sq = m.attacks[2];
    assert.deepEqual(sq?.parts?.map((p) => [p.attacked, p.queries]), [[30, 30 * TINY.squareQueries]]);
    for (const a of m.attacks) {
      assert.ok(a.auc !== null && a.auc >= 0 && a.auc <= 1, `${a.id} AUC ${a.auc}`);
      assert.ok(a.getsThrough >= 0 && a.getsThrough <= 1 - a.accuracy + 1e-9);
    }
    assert.deepEqual(JSON.parse(JSON.stringify(report)).models[0].attacks[0].parts, aa.parts);
  });

  it("shows each part of the cascade in the progress as it starts", () => {
    for (const part of ['APGD-CE', 'APGD-T', 'FAB-T', 'Square']) assert.ok(stages.has(`AutoAttack (fast): ${part}, batch 1/3`), [...stages].join('; '));
  });

  it('prints a table per attack with parts', () => {
    const table = formatTable(report);
    assert.match(table, /AutoAttack \(fast\): robust accuracy after each part/);
    assert.match(table, /APGD-CE .*\| APGD-T .*\| FAB-T .*\| Square/);
    assert.match(table, /Queries\/img/);
    assert.match(table, /Square adaptive \(fast\): accuracy, images attacked, seconds and queries/);
  });

  it('runs only when named, and leaves the worst case of the target preset as it was', async () => {
    assert.deepEqual(ids(selectAttacks(evaluationSuite(0.1), undefined)), ids(attackSuite(0.1)));
    assert.deepEqual(ids(selectAttacks(evaluationSuite(0.1), ['autoattack-fast'])), ['aa-fast', 'apgd-adaptive-fast', 'square-adaptive-fast']);
    assert.deepEqual(ids(selectAttacks(evaluationSuite(0.1), ['autoattack', 'target'])), ['pgd20-s4', 'cw30', 'adaptive', 'aa', 'apgd-adaptive', 'square-adaptive']);
    assert.deepEqual(ids(selectAttacks(evaluationSuite(0.1), ['aa-fast'])), ['aa-fast']);
    assert.equal(namesPreset(['autoattack']), false, 'AutoAttack does not switch the adaptive λ list');
    assert.equal(namesPreset(['target', 'autoattack']), true);
    const pgd = attackSuite(EPS).filter((a) => a.id === 'pgd20-s4');
    const r = await evaluateModels([{ name: 'l', checkpoint: 'mem', model, threshold: givenThreshold(0.5) }], data, options([...pgd, ...autoAttackSpecs(EPS, 'fast', TINY).slice(0, 1)], ['pgd20-s4']));
    const m = r.models[0];
    assert.deepEqual(m?.worstCase?.attacks, ['pgd20-s4']);
    assert.equal(m?.worstCase?.accuracy, m?.attacks[0]?.accuracy);
  });
});
