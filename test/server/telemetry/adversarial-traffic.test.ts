import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adversarialScores, thresholdForFpr } from '../../../export/calibrate.js';
import { buildMetadata, modelToOnnx } from '../../../export/to-onnx.js';
import { pgd } from '../../../src/attacks/index.js';
import { FASHION_MNIST_LABELS, loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { createModel } from '../../../src/model/awnet.js';
import { buildConfig } from '../../../src/model/presets.js';
import { encodeImage } from '../../../src/server/image.js';
import { initBackend } from '../../../src/tf/backend.js';
import { trainBriefly } from '../../export/models.js';
import { GREY_28, metricValue, multipart, startServer, type TestServer } from '../helpers.js';

const PER = 28 * 28;
const EPS = 0.1;
const N = 32;

function pngs(nhwc: Float32Array, count: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      encodeImage(Uint8Array.from(nhwc.subarray(i * PER, (i + 1) * PER), (v) => Math.round(v * 255)), GREY_28, 'png'),
    ),
  );
}

/**
 * The service's adversarial metrics on real adversarial traffic: an AW-Net whose router
 * was taught clean vs perturbed images (a brief run of the training objective), exported
 * by the project's exporter with a threshold calibrated on clean images, then attacked
 * with the project's own PGD.
 */
describe('adversarial traffic made by the project’s own attack', () => {
  let server: TestServer;
  let clean: Buffer[];
  let adversarial: Buffer[];
  let threshold: number;

  before(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const train = await loadFashionMnist({ split: 'train', limit: 40 * 32 });
    const test = await loadFashionMnist({ split: 'test', limit: N + 256 });
    const config = buildConfig('fmnist-tiny', 'awnet');
    const model = createModel(config, 1);
    try {
      trainBriefly(model, train.images, train.labels, 40, 32);
      const calibration = test.images.subarray(N * PER);
      const calibrated = thresholdForFpr(adversarialScores(model, calibration, 256), 0.05);
      threshold = calibrated.value;
      const metadata = buildMetadata({
        config,
        name: 'briefly-trained',
        version: '0.0.1',
        dataset: 'fashion-mnist',
        labels: FASHION_MNIST_LABELS,
        threshold: calibrated,
        calibrationSplit: 'test[32:288]',
        trainingAttack: { eps: EPS, steps: 0 },
      });
      const dir = mkdtempSync(path.join(tmpdir(), 'awnet-adv-'));
      const file = path.join(dir, 'briefly-trained.onnx');
      writeFileSync(file, modelToOnnx(model, metadata).bytes);

      const images = test.images.slice(0, N * PER);
      const x = tf.tensor4d(images, [N, 28, 28, 1]);
      const y = tf.tensor1d(Array.from(test.labels.subarray(0, N)), 'int32');
      const xAdv = pgd(model, x, y, { eps: EPS, steps: 10, stepSize: EPS / 4, seed: 3 });
      const advPixels = (await xAdv.data()) as Float32Array;
      tf.dispose([x, y, xAdv]);
      clean = await pngs(images, N);
      adversarial = await pngs(advPixels, N);
      server = await startServer([file], {}, { listen: true });
    } finally {
      model.dispose();
    }
  });
  after(() => server?.close());

  async function send(files: Buffer[]): Promise<boolean[]> {
    const flags: boolean[] = [];
    for (let i = 0; i < files.length; i += 8) {
      const { body, contentType } = multipart(files.slice(i, i + 8).map((data, j) => ({ name: `${i + j}.png`, data })));
      const res = await fetch(`${server.url}/v1/classify`, { method: 'POST', headers: { 'content-type': contentType }, body });
      assert.equal(res.status, 200);
      const json = (await res.json()) as { results: { adversarial: Record<string, unknown> & { flagged: boolean } }[] };
      for (const r of json.results) {
        assert.equal(r.adversarial.threshold, undefined, 'no answer tells a client the threshold');
        flags.push(r.adversarial.flagged);
      }
    }
    return flags;
  }

  it('clean images leave the flagged counter nearly still; the same images attacked move it', async (t) => {
    const scrape = async () => (await fetch(`${server.adminUrl}/metrics`)).text();
    const m = { model: 'briefly-trained' };
    const start = await scrape();
    assert.equal(metricValue(start, 'awnet_images_total', m), 0);
    assert.equal(metricValue(start, 'awnet_flagged_fraction', m), 0);

    const cleanFlags = await send(clean);
    const afterClean = await scrape();
    const cleanFlagged = cleanFlags.filter(Boolean).length;
    assert.equal(metricValue(afterClean, 'awnet_images_total', m), N);
    assert.equal(metricValue(afterClean, 'awnet_images_flagged_total', m), cleanFlagged);
    assert.ok(cleanFlagged <= N * 0.2, `${cleanFlagged} of ${N} clean images flagged`);
    assert.equal(metricValue(afterClean, 'awnet_flagged_fraction', m), cleanFlagged / N);

    const advFlags = await send(adversarial);
    const afterAdv = await scrape();
    const advFlagged = advFlags.filter(Boolean).length;
    t.diagnostic(`threshold ${threshold.toFixed(4)}: ${cleanFlagged}/${N} clean and ${advFlagged}/${N} PGD images flagged`);
    assert.ok(advFlagged >= N * 0.6, `${advFlagged} of ${N} PGD images flagged`);
    assert.ok(advFlagged - cleanFlagged >= N * 0.4);
    assert.equal(metricValue(afterAdv, 'awnet_images_total', m), 2 * N);
    assert.equal(metricValue(afterAdv, 'awnet_images_flagged_total', m), cleanFlagged + advFlagged);
    assert.equal(metricValue(afterAdv, 'awnet_adversarial_score_count', m), 2 * N);
    const fraction = metricValue(afterAdv, 'awnet_flagged_fraction', m);
    assert.equal(fraction, (cleanFlagged + advFlagged) / (2 * N));
    assert.ok(fraction > metricValue(afterClean, 'awnet_flagged_fraction', m) + 0.2, 'the flagged fraction rises with the attack');
    // The score histogram moves up: fewer of all scores sit in the lowest bucket than before the attack.
    const lowShare = (text: string) => metricValue(text, 'awnet_adversarial_score_bucket', { ...m, le: '0.05' }) / metricValue(text, 'awnet_adversarial_score_count', m);
    assert.ok(lowShare(afterAdv) < lowShare(afterClean));
  });
});
