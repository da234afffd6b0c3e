import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeImage } from '../../src/server/image.js';
import { openSession } from '../../src/server/inference/onnx-session.js';
import { GREY_28, image, metricValue, startServer, type TestServer } from './helpers.js';
import { writeSyntheticModel } from './synthetic-model.js';

interface Result {
  label: string;
  probabilities: number[];
  adversarial: { score: number; flagged: boolean; threshold: number };
}

async function classify(url: string, body: Buffer, model?: string): Promise<{ status: number; headers: Headers; results: Result[]; code?: string }> {
  const path = model ? `/v1/models/${model}/classify` : '/v1/classify';
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body });
  const json = (await res.json()) as { results?: Result[]; code?: string };
  return { status: res.status, headers: res.headers, results: json.results ?? [], ...(json.code ? { code: json.code } : {}) };
}

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();

describe('end to end on a real port', () => {
  const modelFile = writeSyntheticModel({ name: 'e2e' });
  let server: TestServer;

  before(async () => {
    server = await startServer([modelFile], { AWNET_MAX_BATCH_SIZE: '16', AWNET_MAX_BATCH_DELAY_MS: '20', AWNET_FLAGGED_WINDOW_SECONDS: '600' }, { listen: true });
  });
  after(() => server.close());

  it('answers probabilities that sum to 1 and match a direct onnxruntime run on the same preprocessed pixels', async () => {
    const formats = ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'] as const;
    const files = await Promise.all(formats.map((f, i) => image(0.15 * (i + 1), f, i + 1)));
    const answers = await Promise.all(files.map((file) => classify(server.url, file)));
    const pixels = await Promise.all(files.map((file) => decodeImage(file, GREY_28, { maxInputPixels: 1e6 })));
    const session = await openSession(modelFile, { providers: ['cpu'], intraOpThreads: 1 });
    try {
      for (let i = 0; i < files.length; i++) {
        assert.equal(answers[i]!.status, 200, formats[i]);
        const served = answers[i]!.results[0]!;
        assert.ok(Math.abs(served.probabilities.reduce((a, p) => a + p, 0) - 1) < 1e-5);
        const direct = await session.run(pixels[i]!, 1, GREY_28);
        served.probabilities.forEach((p, k) => assert.ok(Math.abs(p - direct.probabilities[k]!) < 1e-6, `${formats[i]} class ${k}`));
        assert.ok(Math.abs(served.adversarial.score - direct.adversarialScore[0]!) < 1e-6);
      }
    } finally {
      await session.close();
    }
  });

  it('moves the image, label, score and flagged metrics as expected after clean and after adversarial-looking images', async () => {
    // The synthetic router scores bright images as adversarial (see synthetic-model.ts).
    const labels = { model: 'e2e' };
    const before = await scrape(server.adminUrl);
    const clean = await Promise.all(Array.from({ length: 6 }, (_, i) => image(0.1 + i * 0.03, 'png', 40 + i)));
    for (const r of await Promise.all(clean.map((c) => classify(server.url, c)))) assert.equal(r.results[0]!.adversarial.flagged, false);
    const afterClean = await scrape(server.adminUrl);
    const delta = (text: string, name: string, l: Record<string, string> = labels) => metricValue(text, name, l) - metricValue(before, name, l);
    assert.equal(delta(afterClean, 'awnet_images_total'), 6);
    assert.equal(delta(afterClean, 'awnet_images_flagged_total'), 0);
    assert.equal(delta(afterClean, 'awnet_adversarial_score_count'), 6);
    assert.equal(delta(afterClean, 'awnet_adversarial_score_bucket', { ...labels, le: '0.5' }), 6, 'clean scores stay below 0.5');
    assert.equal(delta(afterClean, 'awnet_images_classified_total'), 6);
    assert.equal(delta(afterClean, 'awnet_preprocess_duration_seconds_count'), 6);

    const adversarial = await Promise.all(Array.from({ length: 4 }, (_, i) => image(0.85 + i * 0.03, 'png', 60 + i)));
    for (const r of await Promise.all(adversarial.map((c) => classify(server.url, c)))) assert.equal(r.results[0]!.adversarial.flagged, true);
    const afterAdv = await scrape(server.adminUrl);
    assert.equal(delta(afterAdv, 'awnet_images_total'), 10);
    assert.equal(delta(afterAdv, 'awnet_images_flagged_total'), 4);
    assert.equal(delta(afterAdv, 'awnet_adversarial_score_bucket', { ...labels, le: '0.5' }), 6);
    assert.equal(delta(afterAdv, 'awnet_adversarial_score_count'), 10);
    const flaggedBefore = metricValue(before, 'awnet_images_flagged_total', labels);
    const totalBefore = metricValue(before, 'awnet_images_total', labels);
    const fraction = metricValue(afterAdv, 'awnet_flagged_fraction', labels);
    assert.ok(Math.abs(fraction - (flaggedBefore + 4) / (totalBefore + 10)) < 1e-9, `flagged fraction ${fraction}`);
  });

  it('micro-batches concurrent requests from different clients (batch-size histogram)', async () => {
    const before = await scrape(server.adminUrl);
    const files = await Promise.all(Array.from({ length: 48 }, (_, i) => image((i % 10) / 10, 'png', 100 + i)));
    const answers = await Promise.all(files.map((f) => classify(server.url, f)));
    assert.ok(answers.every((a) => a.status === 200));
    const after = await scrape(server.adminUrl);
    const d = (name: string, l: Record<string, string> = { model: 'e2e' }) => metricValue(after, name, l) - metricValue(before, name, l);
    assert.equal(d('awnet_batch_size_sum'), 48, 'every image went through a batch');
    const batches = d('awnet_batch_size_count');
    const singles = d('awnet_batch_size_bucket', { model: 'e2e', le: '1' });
    assert.ok(batches < 48, `48 images in ${batches} batches`);
    assert.ok(singles < batches, `${singles} of ${batches} batches held one image`);
    assert.equal(d('awnet_queue_wait_duration_seconds_count'), 48);
    assert.equal(d('awnet_inference_duration_seconds_count'), batches);
  });
});

describe('overload on a real port', () => {
  // Hundreds of milliseconds per batch, so queued images outlive a 50 ms request timeout on any machine.
  const slowFile = writeSyntheticModel({ name: 'slow', slowMatmuls: 12, slowSize: 1024 });

  it('answers 503 AWNET_QUEUE_FULL with Retry-After when the queue is full, and serves everything it accepted', async () => {
    const server = await startServer([slowFile], { AWNET_MAX_BATCH_SIZE: '1', AWNET_MAX_BATCH_DELAY_MS: '0', AWNET_QUEUE_LIMIT: '2' }, { listen: true });
    try {
      const png = await image(0.4);
      const answers = await Promise.all(Array.from({ length: 10 }, () => classify(server.url, png)));
      const ok = answers.filter((a) => a.status === 200);
      const full = answers.filter((a) => a.status === 503);
      assert.equal(ok.length + full.length, 10, `statuses ${answers.map((a) => a.status)}`);
      assert.ok(ok.length >= 3, `${ok.length} served: the running one and the two queued at least`);
      assert.ok(full.length >= 1, 'some were refused');
      for (const f of full) {
        assert.equal(f.code, 'AWNET_QUEUE_FULL');
        assert.match(f.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      }
      const text = await scrape(server.adminUrl);
      assert.equal(metricValue(text, 'awnet_errors_total', { code: 'AWNET_QUEUE_FULL' }), full.length);
      assert.equal(metricValue(text, 'awnet_images_total', { model: 'slow' }), ok.length);
    } finally {
      await server.close();
    }
  });

  it('answers 504 AWNET_TIMEOUT when an image waits past the request timeout, and stays healthy', async () => {
    const server = await startServer([slowFile], { AWNET_MAX_BATCH_SIZE: '1', AWNET_MAX_BATCH_DELAY_MS: '0', AWNET_REQUEST_TIMEOUT_MS: '50' }, { listen: true });
    try {
      const png = await image(0.4);
      const answers = await Promise.all(Array.from({ length: 3 }, () => classify(server.url, png)));
      const timedOut = answers.filter((a) => a.status === 504);
      assert.ok(timedOut.length >= 2, `statuses ${answers.map((a) => a.status)}`);
      assert.ok(timedOut.every((a) => a.code === 'AWNET_TIMEOUT'));
      const live = await fetch(`${server.url}/v2/health/ready`);
      assert.equal(live.status, 200);
      assert.equal(metricValue(await scrape(server.adminUrl), 'awnet_errors_total', { code: 'AWNET_TIMEOUT' }), timedOut.length);
    } finally {
      await server.close();
    }
  });
});
