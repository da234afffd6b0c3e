import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FASHION_MNIST_LABELS, loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { decodeImage, encodeImage } from '../../../src/server/image.js';
import { openSession } from '../../../src/server/inference/onnx-session.js';
import { writeExportedModel } from './exported-model.js';
import { GREY_28, metricValue, multipart, startServer, type TestServer } from '../helpers.js';

interface Classified {
  model: { name: string };
  results: { label: string; probabilities: number[]; adversarial: { score: number; flagged: boolean } }[];
}

describe("models written by the project's exporter, on a real port", () => {
  let server: TestServer;
  let awnet: string;
  let pngs: Buffer[];

  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'awnet-exported-'));
    awnet = writeExportedModel({ variant: 'awnet', dir });
    const baseline = writeExportedModel({ variant: 'static', dir });
    server = await startServer([awnet, baseline], { AWNET_SERVE_UNSCREENED: 'true' }, { listen: true });
    const test = await loadFashionMnist({ split: 'test', limit: 12 });
    pngs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        encodeImage(Uint8Array.from(test.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)), GREY_28, 'png'),
      ),
    );
  });
  after(() => server.close());

  it('classifies real Fashion-MNIST images exactly as onnxruntime does on the same pixels', async () => {
    const { body, contentType } = multipart(pngs.map((data, i) => ({ name: `${i}.png`, data })));
    const res = await fetch(`${server.url}/v1/classify`, { method: 'POST', headers: { 'content-type': contentType }, body });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as Classified;
    assert.equal(answer.model.name, 'fmnist-tiny-awnet-untrained');
    const session = await openSession(awnet, { providers: ['cpu'], intraOpThreads: 1 });
    try {
      for (let i = 0; i < pngs.length; i++) {
        const served = answer.results[i]!;
        const direct = await session.run(await decodeImage(pngs[i]!, GREY_28, { maxInputPixels: 1e6 }), 1, GREY_28);
        assert.ok(Math.abs(served.probabilities.reduce((a, p) => a + p, 0) - 1) < 1e-5);
        // Batched in the service, alone here: the same numbers up to float rounding.
        served.probabilities.forEach((p, k) => assert.ok(Math.abs(p - direct.probabilities[k]!) < 1e-5, `image ${i} class ${k}`));
        assert.ok(Math.abs(served.adversarial.score - direct.adversarialScore[0]!) < 1e-5);
        assert.ok(served.adversarial.score > 0 && served.adversarial.score < 1);
        assert.ok(FASHION_MNIST_LABELS.includes(served.label));
      }
    } finally {
      await session.close();
    }
  });

  it('refuses to serve a model without a router unless AWNET_SERVE_UNSCREENED=true', async () => {
    const dir = path.dirname(awnet);
    await assert.rejects(
      startServer([awnet, path.join(dir, 'fmnist-tiny-static-untrained.onnx')]),
      (err: Error) => err.name === 'UnscreenedModelError' && /fmnist-tiny-static-untrained has no router/.test(err.message) && /AWNET_SERVE_UNSCREENED=true/.test(err.message),
    );
  });

  it('serves the static baseline beside it when asked: no router, adversarial score 0, never flagged, counted as unscreened', async () => {
    const res = await fetch(`${server.url}/v1/models/fmnist-tiny-static-untrained/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: pngs[0]! });
    assert.equal(res.status, 200);
    const [result] = ((await res.json()) as Classified).results;
    assert.equal(result!.adversarial.score, 0);
    assert.equal(result!.adversarial.flagged, false);
    const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
    assert.equal(metricValue(text, 'awnet_model_info', { model: 'fmnist-tiny-static-untrained', execution_provider: 'cpu' }), 1);
    // Unscreened images are in no screened count, so no fraction reads their 0 as "no attacks".
    assert.equal(metricValue(text, 'awnet_images_unscreened_total', { model: 'fmnist-tiny-static-untrained' }), 1);
    assert.equal(metricValue(text, 'awnet_images_total', { model: 'fmnist-tiny-static-untrained' }), 0);
    assert.equal(metricValue(text, 'awnet_images_flagged_total', { model: 'fmnist-tiny-static-untrained' }), 0);
    assert.equal(metricValue(text, 'awnet_flag_threshold', { model: 'fmnist-tiny-static-untrained' }), 0);
  });

  it('answers Open Inference Protocol requests on the exported graph with its three outputs and the verdict', async () => {
    const pixels = Array.from(await decodeImage(pngs[1]!, GREY_28, { maxInputPixels: 1e6 }));
    const res = await fetch(`${server.url}/v2/models/fmnist-tiny-awnet-untrained/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 1, 28, 28], datatype: 'FP32', data: pixels }] }),
    });
    assert.equal(res.status, 200);
    const out = ((await res.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] }).outputs;
    assert.deepEqual(out.map((o) => [o.name, o.shape]), [['logits', [1, 10]], ['probabilities', [1, 10]], ['adversarial_score', [1]], ['flagged', [1]]]);
    // Softmax of the returned logits is the returned probabilities.
    const logits = out[0]!.data;
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    exp.forEach((e, k) => assert.ok(Math.abs(e / sum - out[1]!.data[k]!) < 1e-5));
  });
});
