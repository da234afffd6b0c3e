import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildConfig, createModel } from '../../src/model/index.js';
import { crossEntropy } from '../../src/train/losses.js';
import { objective } from '../../src/train/objective.js';
import { asymmetricInvariance, predictorWidth } from '../../src/train/objective-ar-at.js';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} ≠ ${b} (tol ${tol})`);
const scalar = (t: tf.Tensor): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

// Predictions a = [1, 0], [1, 1]; clean features b = [1, 0], [0, 1]: cos = 1 and 1/√2, so the
// term is −(1 + 0.707107)/2 = −0.853553.
const A = [
  [1, 0],
  [1, 1],
];
const B = [
  [1, 0],
  [0, 1],
];

describe('AR-AT', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('the invariance term is the mean negative cosine', () => {
    close(scalar(asymmetricInvariance(tf.tensor2d(A), tf.tensor2d(B))), -0.853553, 1e-6, 'term');
  });

  it('is asymmetric: no gradient reaches the clean side, and the prediction turns towards it', () => {
    const [ga, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor) => asymmetricInvariance(a as tf.Tensor2D, b as tf.Tensor2D))([tf.tensor2d(A), tf.tensor2d(B)]);
    assert.ok((gb!.arraySync() as number[][]).every((row) => row.every((v) => v === 0)), 'stop-gradient on the clean features');
    const g = ga!.arraySync() as number[][];
    // Row 0 is aligned: no gradient. Row 1: ∂cos/∂a = b/(|a||b|) − (a·b)a/(|a|³|b|) = [−1/(2√2), 1/(2√2)];
    // the loss is −cos/2, so its gradient is [0.176777, −0.176777]: descent lowers a_x and raises a_y, towards b.
    close(g[0]![0]!, 0, 1e-7, 'aligned row x');
    close(g[0]![1]!, 0, 1e-7, 'aligned row y');
    close(g[1]![0]!, 0.176777, 1e-6, 'row 1 x');
    close(g[1]![1]!, -0.176777, 1e-6, 'row 1 y');
  });

  it('L_nat = CE(clean), L_adv = CE(adv) + γ·term, α 1 / 1', () => {
    const logits = tf.tensor2d([
      [2, 0],
      [0, 1],
      [1, 1],
      [0, 3],
    ]);
    const labels = tf.tensor1d([0, 1], 'int32');
    // Rows 0–1 clean (features B), rows 2–3 adversarial (predictions A).
    const embedding = tf.tensor2d([...B, [9, 9], [9, 9]]);
    const prediction = tf.tensor2d([[9, 9], [9, 9], ...A]);
    const terms = objective({
      mode: 'ar-at',
      out: { logits, typeLogits: null, pClean: null, embedding, prediction },
      labels,
      cleanCount: 2,
      alphaNat: 1,
      alphaAdv: 1,
      tradesBeta: 0,
      arAtWeight: 2,
    });
    const ceClean = scalar(crossEntropy(tf.tensor2d([[2, 0], [0, 1]]), labels));
    const ceAdv = scalar(crossEntropy(tf.tensor2d([[1, 1], [0, 3]]), labels));
    close(scalar(terms.nat), ceClean, 1e-6, 'nat');
    close(scalar(terms.adv), ceAdv + 2 * -0.853553, 1e-5, 'adv');
    close(scalar(terms.total), ceClean + ceAdv + 2 * -0.853553, 1e-5, 'total');
    assert.throws(() => objective({ mode: 'ar-at', out: { logits, typeLogits: null, pClean: null }, labels, cleanCount: 2, alphaNat: 1, alphaAdv: 1, tradesBeta: 0 }), /predictor/);
  });

  it('a model with a predictor returns the pooled features and the prediction only when asked', () => {
    assert.equal(predictorWidth(64), 16);
    assert.equal(predictorWidth(8), 4);
    assert.throws(() => buildConfig('fmnist-tiny', 'static', { predictor: 0 }), /predictor must be a positive integer, got 0/);
    const model = createModel(buildConfig('fmnist-tiny', 'static', { main: { stem: 4, widths: [4, 8, 8] }, predictor: 4 }), 1);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    try {
      const plain = model.forward(x, { training: true });
      assert.equal(plain.embedding, undefined);
      tf.dispose([plain.logits]);
      const rich = model.forward(x, { training: true, representation: true });
      assert.deepEqual(rich.embedding!.shape, [3, 8]);
      assert.deepEqual(rich.prediction!.shape, [3, 8]);
      assert.ok([...model.namedVariables().keys()].includes('predictor/fc1/kernel'));
      tf.dispose([rich.logits, rich.embedding!, rich.prediction!]);
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});
