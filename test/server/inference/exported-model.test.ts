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
    server = await startServer([awnet, baseline], {}, { listen: true });
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

  it('serves the static baseline beside it: no router, adversarial score 0, never flagged', async () => {
    const res = await fetch(`${server.url}/v1/models/fmnist-tiny-static-untrained/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: pngs[0]! });
    assert.equal(res.status, 200);
    const [result] = ((await res.json()) as Classified).results;
    assert.equal(result!.adversarial.score, 0);
    assert.equal(result!.adversarial.flagged, false);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(metricValue(text, 'awnet_model_info', { model: 'fmnist-tiny-static-untrained', execution_provider: 'cpu' }), 1);
    assert.equal(metricValue(text, 'awnet_images_flagged_total', { model: 'fmnist-tiny-static-untrained' }), 0);
  });

  it('answers Open Inference Protocol requests on the exported graph with all three outputs', async () => {
    const pixels = Array.from(await decodeImage(pngs[1]!, GREY_28, { maxInputPixels: 1e6 }));
    const res = await fetch(`${server.url}/v2/models/fmnist-tiny-awnet-untrained/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 1, 28, 28], datatype: 'FP32', data: pixels }] }),
    });
    assert.equal(res.status, 200);
    const out = ((await res.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] }).outputs;
    assert.deepEqual(out.map((o) => [o.name, o.shape]), [['logits', [1, 10]], ['probabilities', [1, 10]], ['adversarial_score', [1]]]);
    // Softmax of the returned logits is the returned probabilities.
    const logits = out[0]!.data;
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    exp.forEach((e, k) => assert.ok(Math.abs(e / sum - out[1]!.data[k]!) < 1e-5));
  });
});
