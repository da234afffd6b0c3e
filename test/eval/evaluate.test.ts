import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import type { Dataset } from '../../src/data/types.js';
import { attackSuite, selectAttacks } from '../../src/eval/attack-suite.js';
import { evaluateModels, type EvaluateOptions } from '../../src/eval/evaluate.js';
import type { AttackResult, EvaluationReport } from '../../src/eval/report.js';
import { formatTable } from '../../src/eval/table.js';
import { givenThreshold, noRouterThreshold } from '../../src/eval/threshold.js';
import { fashionBatch, TinyModel, trainTiny, useWasm } from '../attacks/tiny-model.js';

const EPS = 0.1;

/** An attack's figures without its wall-clock time. */
function figures(result: AttackResult | undefined): Omit<AttackResult, 'seconds'> | undefined {
  if (result === undefined) return undefined;
  const { seconds: _seconds, ...rest } = result;
  return rest;
}

describe('evaluateModels on trained models and real test images', () => {
  let withRouter: TinyModel;
  let without: TinyModel;
  let data: Dataset;
  let report: EvaluationReport;
  const options = (): EvaluateOptions => ({
    eps: EPS,
    batchSize: 40,
    seed: 3,
    attacks: attackSuite(EPS),
    curveEps: [0, 0.05, 0.1],
    curveSteps: 3,
    backend: tf.getBackend(),
  });

  before(async () => {
    await useWasm();
    const train = await fashionBatch('train', 2048);
    withRouter = new TinyModel({ seed: 5 });
    trainTiny(withRouter, train, 60);
    without = new TinyModel({ seed: 6, router: false });
    trainTiny(without, train, 60);
    train.x.dispose();
    train.y.dispose();
    // 100 images in batches of 40: the last batch is short.
    data = await loadFashionMnist({ split: 'test', limit: 100 });
    report = await evaluateModels(
      [
        { name: 'tiny-router', checkpoint: 'mem:router', model: withRouter, threshold: givenThreshold(0.5) },
        { name: 'tiny-static', checkpoint: 'mem:static', model: without, threshold: noRouterThreshold() },
      ],
      data,
      options(),
    );
  });
  after(() => {
    withRouter.dispose();
    without.dispose();
  });

  it('reports every attack for every model, with W-Robust Acc = (A_nat + A_adv) / 2', () => {
    assert.equal(report.count, 100);
    assert.deepEqual(report.models.map((m) => m.name), ['tiny-router', 'tiny-static']);
    for (const m of report.models) {
      assert.deepEqual(m.attacks.map((a) => a.id), ['fgsm', 'pgd20-s4', 'pgd20-s10', 'cw30', 'adaptive']);
      assert.ok(m.cleanAccuracy > 0.6, `${m.name} clean accuracy ${m.cleanAccuracy}`);
      for (const a of m.attacks) {
        assert.ok(a.accuracy >= 0 && a.accuracy <= 1);
        assert.equal(a.wRobust, (m.cleanAccuracy + a.accuracy) / 2);
        assert.ok(a.accuracy < m.cleanAccuracy, `${m.name} ${a.id}: ${a.accuracy} vs clean ${m.cleanAccuracy}`);
        assert.ok(a.successRate > 0 && a.successRate <= 1);
      }
    }
  });

  it('gives the router ROC-AUC per attack, none for a model without a router', () => {
    const [r, s] = report.models;
    assert.ok(r && s);
    for (const a of s.attacks) assert.equal(a.auc, null);
    assert.equal(s.meanCleanAdversarialScore, null);
    const auc = Object.fromEntries(r.attacks.map((a) => [a.id, a.auc ?? NaN]));
    // eps 0.1 sign noise roughens Fashion-MNIST images, which this router detects...
    assert.ok((auc['pgd20-s4'] ?? 0) > 0.8, `PGD AUC ${auc['pgd20-s4']}`);
    // ...unless the attack steers against it, which only the adaptive attack does.
    assert.ok((auc.adaptive ?? 1) < (auc['pgd20-s4'] ?? 0) - 0.2, `adaptive AUC ${auc.adaptive} vs PGD ${auc['pgd20-s4']}`);
  });

  it('draws the robustness curve from the clean accuracy down', () => {
    for (const m of report.models) {
      assert.deepEqual(m.curve.map((p) => p.eps), [0, 0.05, 0.1]);
      assert.equal(m.curve[0]?.accuracy, m.cleanAccuracy);
      assert.ok((m.curve[2]?.accuracy ?? 1) <= (m.curve[0]?.accuracy ?? 0));
    }
    assert.equal(report.curveAttack, 'PGD-3 ε/4');
  });

  it('is deterministic for a seed: a second run gives the same figures and leaves no tensor behind', async () => {
    const tensors = tf.memory().numTensors;
    const again = await evaluateModels([{ name: 'tiny-router', checkpoint: 'mem:router', model: withRouter, threshold: givenThreshold(0.5) }], data, {
      ...options(),
      attacks: selectAttacks(attackSuite(EPS), ['pgd20-s4', 'adaptive']),
    });
    const first = report.models[0];
    const second = again.models[0];
    assert.ok(first && second);
    assert.equal(second.cleanAccuracy, first.cleanAccuracy);
    for (const a of second.attacks) {
      assert.deepEqual(figures(a), figures(first.attacks.find((b) => b.id === a.id)));
    }
    assert.deepEqual(second.curve, first.curve);
    assert.deepEqual(second.worstCase?.attacks, ['pgd20-s4', 'adaptive']);
    assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
  });

  it('prints the table in the layout of the paper: models as rows, A_adv and W-Rob per attack, then AUC', () => {
    const table = formatTable(report);
    const lines = table.split('\n');
    assert.match(lines[0] ?? '', /fashion-mnist test, 100 images, L∞ eps 0.1, seed 3/);
    assert.ok(table.includes('FGSM') && table.includes('PGD-20 ε/4') && table.includes('PGD-20 ε/10'));
    assert.ok(table.includes('CW∞-30') && table.includes('Adaptive') && table.includes('Router ROC-AUC'));
    const row = lines.find((l) => l.startsWith('tiny-static'));
    const r = report.models[1];
    assert.ok(row && r);
    const cells = row.trim().split(/[\s|]+/).slice(1);
    assert.equal(cells.length, 1 + 2 * (r.attacks.length + 1), 'clean, each attack, the worst case');
    assert.equal(cells[0], (r.cleanAccuracy * 100).toFixed(2));
    assert.equal(cells[1], ((r.attacks[0]?.accuracy ?? NaN) * 100).toFixed(2));
    assert.equal(cells[2], ((r.attacks[0]?.wRobust ?? NaN) * 100).toFixed(2));
    assert.ok(lines.some((l) => /^tiny-static\s+—\s+—/.test(l)), 'AUC of the static model shows as —');
  });

  it('rejects mismatched models, bad options and unknown attacks with stable codes', async () => {
    const colour = { ...data, shape: { height: 28, width: 28, channels: 3 } };
    await assert.rejects(
      evaluateModels([{ name: 'x', checkpoint: 'ckpt-a', model: without, threshold: noRouterThreshold() }], colour, options()),
      { code: 'EVAL_MODEL_MISMATCH', message: /ckpt-a expects 28×28×1 images but fashion-mnist has 28×28×3/ },
    );
    await assert.rejects(evaluateModels([{ name: 'x', checkpoint: 'c', model: without, threshold: noRouterThreshold() }], data, { ...options(), batchSize: 0 }), {
      code: 'EVAL_BAD_OPTION',
    });
    await assert.rejects(evaluateModels([{ name: 'x', checkpoint: 'c', model: without, threshold: noRouterThreshold() }], data, { ...options(), eps: 0 }), {
      code: 'EVAL_BAD_OPTION',
    });
    assert.throws(() => selectAttacks(attackSuite(EPS), ['pgd20-s4', 'deepfool']), {
      code: 'EVAL_BAD_OPTION',
      message: /unknown attack "deepfool"; valid attacks: fgsm, pgd20-s4, pgd20-s10, cw30, adaptive/,
    });
  });
});
