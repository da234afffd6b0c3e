import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { adversarialScores, calibrationWarning, minimumCalibrationImages, thresholdForFpr } from '../../export/calibrate.js';
import { buildConfig, createModel } from '../../src/model/index.js';

test('the threshold flags at most the target fraction of calibration scores', () => {
  const scores = Float32Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 1000);
  const t = thresholdForFpr(scores, 0.01);
  // Sorted scores are 0, 0.001, …, 0.999; ten may lie above: midway between 0.989 and 0.990.
  assert.ok(Math.abs(t.value - 0.9895) < 1e-6, `value ${t.value}`);
  assert.equal(t.observedFpr, 0.01);
  assert.equal(t.calibrationImages, 1000);
  assert.equal(t.targetFpr, 0.01);
  const t5 = thresholdForFpr(scores, 0.05);
  assert.ok(Math.abs(t5.value - 0.9495) < 1e-6);
  // Fewer images than 1/fpr: nothing may be flagged, the highest score is the threshold.
  const few = thresholdForFpr([0.2, 0.7, 0.4], 0.01);
  assert.ok(Math.abs(few.value - 0.7) < 1e-6);
  assert.equal(few.observedFpr, 0);
  assert.equal(t5.observedFpr, 0.05);
});

test('ties never push the calibration false-positive rate above the target', () => {
  const scores = new Float32Array(200).fill(0.3);
  scores.fill(0.9, 190);
  const t = thresholdForFpr(scores, 0.01);
  // Two may lie above; ten share the top score, so the threshold is that score and none lie above.
  assert.ok(Math.abs(t.value - 0.9) < 1e-6);
  assert.equal(t.observedFpr, 0);
  const constant = thresholdForFpr(new Float32Array(50), 0.1);
  assert.equal(constant.value, 0);
  assert.equal(constant.observedFpr, 0);
});

test('bad rates and empty or non-finite scores give coded errors', () => {
  for (const fpr of [0, 1, -0.1, Number.NaN]) {
    assert.throws(() => thresholdForFpr([0.1], fpr), { code: 'EXPORT_BAD_OPTION' });
  }
  assert.throws(() => thresholdForFpr([], 0.01), { code: 'EXPORT_CALIBRATION_FAILED' });
  assert.throws(() => thresholdForFpr([0.1, Number.NaN], 0.01), { code: 'EXPORT_CALIBRATION_FAILED' });
});

test('adversarialScores is 1 − P(clean) of the model, batch by batch, and 0 without a router', async () => {
  await tf.setBackend('cpu');
  const model = createModel(buildConfig('fmnist-tiny', 'awnet', { main: { stem: 4, widths: [4, 8] }, router: { stem: 4, widths: [4, 8] } }), 3);
  const n = 5;
  const images = Float32Array.from({ length: n * 784 }, (_, i) => (i % 97) / 97);
  const scores = adversarialScores(model, images, n, 2);
  const direct = tf.tidy(() => tf.sub(1, model.forward(tf.tensor4d(images, [n, 28, 28, 1]), { training: false }).pClean as tf.Tensor1D));
  const expected = direct.dataSync();
  direct.dispose();
  for (let i = 0; i < n; i++) assert.ok(Math.abs((scores[i] as number) - (expected[i] as number)) < 1e-6);
  assert.ok(scores.every((s) => s > 0 && s < 1));
  assert.throws(() => adversarialScores(model, images, n + 1), { code: 'EXPORT_CALIBRATION_FAILED' });
  model.dispose();

  const baseline = createModel(buildConfig('fmnist-tiny', 'static', { main: { stem: 4, widths: [4, 8] } }), 3);
  assert.deepEqual([...adversarialScores(baseline, images, n, 4)], [0, 0, 0, 0, 0]);
  baseline.dispose();
});

test('a threshold calibrated on fewer than 10/FPR images gets a warning naming the count and the minimum', () => {
  assert.equal(minimumCalibrationImages(0.01), 1000);
  assert.equal(minimumCalibrationImages(0.05), 200);
  assert.equal(minimumCalibrationImages(0.001), 10_000);
  assert.equal(calibrationWarning(1000, 0.01), null);
  assert.equal(calibrationWarning(5000, 0.01), null);
  const warning = calibrationWarning(30, 0.01);
  assert.ok(warning !== null);
  assert.match(warning, /^WARNING: .*only 30 clean images; a target FPR of 0\.01 needs at least 1000 \(10\/FPR\)/);
  assert.match(calibrationWarning(999, 0.01) ?? '', /at least 1000/);
});
