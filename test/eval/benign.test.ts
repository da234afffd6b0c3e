import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import type { Dataset } from '../../src/data/types.js';
import { benignSettings, corruptRows } from '../../src/eval/benign.js';
import { evaluateModels, type EvaluateOptions } from '../../src/eval/evaluate.js';
import type { BenignResult, EvaluationReport } from '../../src/eval/report.js';
import { formatTable } from '../../src/eval/table.js';
import { givenThreshold, noRouterThreshold } from '../../src/eval/threshold.js';
import type { Model } from '../../src/model/types.js';
import { fashionBatch, TinyModel, trainTiny, useWasm } from '../attacks/tiny-model.js';

const EPS = 0.1;
const SEED = 4;
const BATCH = 20;
const THRESHOLD = 0.4;

/** Predictions and 1 − P(clean) of the model, straight from its forward pass, in batches of BATCH. */
function direct(model: Model, images: Float32Array, n: number): { predicted: number[]; score: number[] } {
  const predicted: number[] = [];
  const score: number[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const b = Math.min(BATCH, n - start);
    const [p, s] = tf.tidy(() => {
      const out = model.forward(tf.tensor4d(images.subarray(start * 784, (start + b) * 784), [b, 28, 28, 1]), { training: false });
      return [tf.argMax(out.logits, 1), out.pClean === null ? tf.zeros([b]) : tf.sub(1, out.pClean)];
    });
    predicted.push(...p.dataSync());
    score.push(...s.dataSync());
    tf.dispose([p, s]);
  }
  return { predicted, score };
}

describe('benign changes in the evaluation', () => {
  let withRouter: TinyModel;
  let without: TinyModel;
  let data: Dataset;
  let report: EvaluationReport;
  const options = (): EvaluateOptions => ({
    eps: EPS,
    batchSize: BATCH,
    seed: SEED,
    attacks: [],
    benign: benignSettings(EPS),
    curveEps: [],
    curveSteps: 1,
    backend: tf.getBackend(),
  });

  before(async () => {
    await useWasm();
    const train = await fashionBatch('train', 512);
    withRouter = new TinyModel({ seed: 11 });
    trainTiny(withRouter, train, 20);
    without = new TinyModel({ seed: 12, router: false });
    trainTiny(without, train, 20);
    tf.dispose([train.x, train.y]);
    data = await loadFashionMnist({ split: 'test', limit: 50 });
    report = await evaluateModels(
      [
        { name: 'router', checkpoint: 'mem:router', model: withRouter, threshold: givenThreshold(THRESHOLD) },
        { name: 'static', checkpoint: 'mem:static', model: without, threshold: noRouterThreshold() },
      ],
      data,
      options(),
    );
  });
  after(() => {
    withRouter.dispose();
    without.dispose();
  });

  it('reports accuracy and flag rate per setting as the model computes them on the corrupted images', async () => {
    const m = report.models[0];
    assert.ok(m);
    assert.deepEqual(m.benign.map((b) => b.id), benignSettings(EPS).map((s) => s.id));
    const clean = direct(withRouter, data.images, data.count);
    const rate = (xs: boolean[]): number => xs.filter(Boolean).length / xs.length;
    assert.equal(m.cleanAccuracy, rate(clean.predicted.map((p, i) => p === data.labels[i])));
    assert.equal(m.cleanFlagRate, rate(clean.score.map((s) => s > THRESHOLD)));
    for (const [k, setting] of benignSettings(EPS).entries()) {
      const images = await corruptRows(data.images, data.count, data.shape, setting, SEED, 0);
      const d = direct(withRouter, images, data.count);
      const b: BenignResult | undefined = m.benign[k];
      assert.ok(b);
      assert.equal(b.accuracy, rate(d.predicted.map((p, i) => p === data.labels[i])), setting.id);
      assert.equal(b.flagRate, rate(d.score.map((s) => s > THRESHOLD)), setting.id);
      assert.deepEqual(b.corruption, setting.corruption);
    }
    // The noise settings roughen the images, which this router notices.
    const uniform = m.benign.find((b) => b.id === 'uniform-eps');
    assert.ok((uniform?.flagRate ?? 0) > m.cleanFlagRate, `uniform ±eps flags ${uniform?.flagRate} vs clean ${m.cleanFlagRate}`);
  });

  it('flags nothing for a model without a router', () => {
    const s = report.models[1];
    assert.ok(s);
    assert.equal(s.cleanFlagRate, 0);
    for (const b of s.benign) {
      assert.equal(b.flagRate, 0);
      assert.equal(b.meanAdversarialScore, null);
    }
  });

  it('draws the noise per image, so batches and workers do not change it', async () => {
    const size = 784;
    for (const setting of benignSettings(EPS, ['uniform-eps', 'gaussian-0.05', 'sign-0.03', 'jpeg-40'])) {
      const whole = await corruptRows(data.images, 20, data.shape, setting, SEED, 0);
      const part = await corruptRows(data.images.subarray(7 * size, 13 * size), 6, data.shape, setting, SEED, 7);
      assert.deepEqual(part, whole.subarray(7 * size, 13 * size), setting.id);
      const diff = whole.reduce((mx, v, i) => Math.max(mx, Math.abs(v - (data.images[i] as number))), 0);
      assert.ok(diff > 0, `${setting.id} changes the images`);
      if (setting.corruption.kind === 'uniform') assert.ok(diff <= EPS + 1e-6, `uniform noise stays within ±eps: ${diff}`);
    }
    const other = await corruptRows(data.images, 2, data.shape, benignSettings(EPS, ['uniform-eps'])[0]!, SEED + 1, 0);
    const same = await corruptRows(data.images, 2, data.shape, benignSettings(EPS, ['uniform-eps'])[0]!, SEED, 0);
    assert.notDeepEqual(other, same, 'the seed sets the noise');
  });

  it('gives the same benign figures with another batch size, and shows them in the table', async () => {
    const again = await evaluateModels(
      [{ name: 'router', checkpoint: 'mem:router', model: withRouter, threshold: givenThreshold(THRESHOLD) }],
      data,
      { ...options(), batchSize: 50 },
    );
    assert.deepEqual(again.models[0]?.benign, report.models[0]?.benign);
    const table = formatTable(report);
    assert.ok(table.includes('Benign changes, 50 images:') && table.includes('JPEG q40') && table.includes('contrast ×0.7'), table);
    assert.equal(report.models[0]?.worstCase, null, 'no attack, no worst case');
    assert.throws(() => benignSettings(EPS, ['fog']), { code: 'EVAL_BAD_OPTION', message: /unknown benign change "fog"/ });
  });
});
