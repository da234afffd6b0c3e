import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MODEL_LOAD_TIMEOUT_MS } from '../../../src/server/app.js';
import { decodeImage } from '../../../src/server/image.js';
import { repoRoot } from '../../../src/server/repo-root.js';
import { GREY_28, image, metricValue, multipart, startServer, type TestServer } from '../helpers.js';
import { FASHION_LABELS, writeSyntheticModel } from '../synthetic-model.js';

interface Classified {
  model: { name: string; version: string; labels: string[] };
  results: {
    filename?: string;
    label: string;
    top_k: { label: string; probability: number }[];
    probabilities: number[];
    adversarial: { score: number; flagged: boolean; threshold?: number };
  }[];
}

interface Inferred {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
}

describe('routes (app.inject)', () => {
  let server: TestServer;
  const first = writeSyntheticModel({ name: 'first' });
  const second = writeSyntheticModel({ name: 'second', labels: ['cat', 'dog', 'bird'], channels: 3, height: 16, width: 16, threshold: 0.9, metadata: { routerHold: { pCleanCap: 0.5, omegaBound: null } } });

  before(async () => {
    server = await startServer([first, second]);
  });
  after(() => server.close());

  const post = (url: string, payload: Buffer, contentType: string) =>
    server.app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });

  it('classifies a raw image body with the default model', async () => {
    const res = await post('/v1/classify', await image(0.3), 'image/png');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<Classified>();
    assert.deepEqual(body.model, { name: 'first', version: '3', labels: FASHION_LABELS });
    assert.equal(body.results.length, 1);
    const [r] = body.results;
    assert.equal(r!.probabilities.length, 10);
    assert.ok(Math.abs(r!.probabilities.reduce((a, p) => a + p, 0) - 1) < 1e-5);
    const best = r!.probabilities.indexOf(Math.max(...r!.probabilities));
    assert.equal(r!.label, FASHION_LABELS[best]);
    assert.equal(r!.top_k.length, 5);
    assert.equal(r!.top_k[0]!.label, r!.label);
    for (let i = 1; i < 5; i++) assert.ok(r!.top_k[i - 1]!.probability >= r!.top_k[i]!.probability);
    assert.equal(r!.adversarial.threshold, undefined, 'a client is never told the threshold');
    assert.equal(r!.adversarial.flagged, false);
    assert.ok(r!.adversarial.score < 0.5);
  });

  it('classifies several multipart files (fields image and images) in order, with their file names', async () => {
    const { body, contentType } = multipart([
      { name: 'dark.png', data: await image(0.1) },
      { name: 'bright.jpg', data: await image(0.9, 'jpeg'), type: 'image/jpeg', field: 'images' },
      { name: 'mid.webp', data: await image(0.45, 'webp'), type: 'image/webp' },
    ]);
    const res = await post('/v1/classify', body, contentType);
    assert.equal(res.statusCode, 200, res.body);
    const results = res.json<Classified>().results;
    assert.deepEqual(results.map((r) => r.filename), ['dark.png', 'bright.jpg', 'mid.webp']);
    assert.deepEqual(results.map((r) => r.adversarial.flagged), [false, true, false]);
    // The fields come in the order docs/api.md shows them.
    const documented = /```json\n(\{\n {2}"model"[\s\S]*?)```/.exec(readFileSync(path.join(repoRoot(), 'docs/api.md'), 'utf8'))?.[1];
    const example = JSON.parse(documented ?? '{}') as { results: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(JSON.parse(res.body).results[0]), Object.keys(example.results[0]!));
  });

  it('serves a second model by name, RGB, with its own threshold; unknown names get 404', async () => {
    const rgb = await image(0.95, 'png', 2, { channels: 3, height: 40, width: 40 });
    const res = await post('/v1/models/second/classify?top_k=50', rgb, 'image/png');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<Classified>();
    assert.equal(body.model.name, 'second');
    assert.deepEqual(body.model.labels, ['cat', 'dog', 'bird']);
    assert.equal(body.results[0]!.top_k.length, 3, 'top_k is capped at the number of classes');
    assert.equal(metricValue((await server.app.admin.inject('/metrics')).body, 'awnet_flag_threshold', { model: 'second' }), 0.9);
    const unknown = await post('/v1/models/third/classify', rgb, 'image/png');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'AWNET_UNKNOWN_MODEL');
    assert.match(unknown.json().error, /'third' is not served; served models: first, second/);
  });

  it('accepts any image/* media type, with parameters or in capitals; the bytes decide the format', async () => {
    for (const type of ['image/png; charset=binary', 'IMAGE/JPEG', 'image/x-anything']) {
      const res = await post('/v1/classify', await image(0.3), type);
      assert.equal(res.statusCode, 200, `${type}: ${res.body}`);
    }
  });

  it('validates top_k', async () => {
    const ok = await post('/v1/classify?top_k=2', await image(0.3), 'image/png');
    assert.equal(ok.json<Classified>().results[0]!.top_k.length, 2);
    for (const bad of ['0', 'two', '-1']) {
      const res = await post(`/v1/classify?top_k=${bad}`, await image(0.3), 'image/png');
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'AWNET_INVALID_REQUEST');
      assert.match(res.json().error, /top_k/);
    }
  });

  it('gives loading the models the startup probe’s 2 minutes, not Fastify’s default 10 s per plugin', () => {
    assert.equal(server.app.initialConfig.pluginTimeout, MODEL_LOAD_TIMEOUT_MS);
    assert.equal(MODEL_LOAD_TIMEOUT_MS, 120_000);
  });

  it('speaks the Open Inference Protocol: server, health and model metadata', async () => {
    const server2 = (await server.app.inject('/v2')).json();
    assert.equal(server2.name, 'awnet-serve');
    assert.match(server2.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual((await server.app.inject('/v2/health/live')).json(), { live: true });
    const ready = await server.app.inject('/v2/health/ready');
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { ready: true });
    const meta = await server.app.inject('/v2/models/second');
    assert.equal(meta.statusCode, 200);
    assert.deepEqual(meta.json(), {
      name: 'second',
      versions: ['3'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 3, 16, 16] }],
      outputs: [
        { name: 'logits', datatype: 'FP32', shape: [-1, 3] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'adversarial_score', datatype: 'FP32', shape: [-1] },
        { name: 'flagged', datatype: 'BOOL', shape: [-1] },
      ],
      // No threshold: a client must not be able to tune an attack to stay just under it.
      parameters: { labels: ['cat', 'dog', 'bird'], execution_provider: 'cpu', screened: true, router_hold: { p_clean_cap: 0.5, omega_bound: null } },
    });
    assert.equal((await server.app.inject('/v2/models/first')).json().parameters.router_hold, null, 'a model without a hold says so');
    assert.equal((await server.app.inject('/v2/models/second/versions/3')).statusCode, 200);
    assert.deepEqual((await server.app.inject('/v2/models/first/ready')).json(), { name: 'first', ready: true });
    assert.equal((await server.app.inject('/v2/models/first/versions/3/ready')).statusCode, 200);
    const wrongVersion = await server.app.inject('/v2/models/first/versions/9/ready');
    assert.equal(wrongVersion.statusCode, 404);
    assert.equal(wrongVersion.json().code, 'AWNET_UNKNOWN_MODEL');
    assert.equal((await server.app.inject('/v2/models/nope')).json().code, 'AWNET_UNKNOWN_MODEL');
  });

  it('infers on FP32 tensors (flat or nested) and agrees with the classify route on the same pixels', async () => {
    const png = await image(0.7);
    const pixels = Array.from(await decodeImage(png, GREY_28, { maxInputPixels: 1e6 }));
    const dark = Array.from(await decodeImage(await image(0.2), GREY_28, { maxInputPixels: 1e6 }));
    const flat = await server.app.inject({
      method: 'POST',
      url: '/v2/models/first/infer',
      payload: { id: 'req-1', inputs: [{ name: 'pixels', shape: [2, 1, 28, 28], datatype: 'FP32', data: [...pixels, ...dark] }] },
    });
    assert.equal(flat.statusCode, 200, flat.body);
    const body = flat.json<Inferred>();
    assert.equal(body.model_name, 'first');
    assert.equal(body.model_version, '3');
    assert.equal(body.id, 'req-1');
    assert.deepEqual(body.outputs.map((o) => [o.name, o.datatype, o.shape]), [
      ['logits', 'FP32', [2, 10]],
      ['probabilities', 'FP32', [2, 10]],
      ['adversarial_score', 'FP32', [2]],
      ['flagged', 'BOOL', [2]],
    ]);
    const probs = body.outputs[1]!.data;
    assert.ok(Math.abs(probs.slice(0, 10).reduce((a, p) => a + p, 0) - 1) < 1e-5);
    const classified = (await post('/v1/classify', png, 'image/png')).json<Classified>().results[0]!;
    assert.deepEqual(probs.slice(0, 10), classified.probabilities);
    assert.equal(body.outputs[2]!.data[0], classified.adversarial.score);

    const rows = (values: number[]) => [[Array.from({ length: 28 }, (_, y) => values.slice(y * 28, (y + 1) * 28))]];
    const nested = await server.app.inject({
      method: 'POST',
      url: '/v2/models/first/versions/3/infer',
      payload: { inputs: [{ name: 'pixels', shape: [1, 1, 28, 28], datatype: 'FP32', data: rows(pixels) }], outputs: [{ name: 'adversarial_score' }] },
    });
    assert.equal(nested.statusCode, 200, nested.body);
    const only = nested.json<Inferred>().outputs;
    assert.deepEqual(only.map((o) => o.name), ['adversarial_score']);
    assert.equal(only[0]!.data[0], classified.adversarial.score);
  });

  it('exports metrics in the Prometheus format with model info, provider and counts', async () => {
    const before = (await server.app.admin.inject('/metrics')).body;
    await post('/v1/classify', await image(0.9), 'image/png');
    const res = await server.app.admin.inject('/metrics');
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    assert.equal(metricValue(text, 'awnet_model_info', { model: 'first', version: '3', execution_provider: 'cpu' }), 1);
    assert.equal(metricValue(text, 'awnet_model_ready', { model: 'second' }), 1);
    assert.equal(metricValue(text, 'awnet_queue_capacity', { model: 'first' }), 512);
    assert.equal(metricValue(text, 'awnet_images_total', { model: 'first' }) - metricValue(before, 'awnet_images_total', { model: 'first' }), 1);
    assert.equal(metricValue(text, 'awnet_images_flagged_total', { model: 'first' }) - metricValue(before, 'awnet_images_flagged_total', { model: 'first' }), 1);
    assert.ok(metricValue(text, 'awnet_http_requests_total', { route: '/v1/classify', method: 'POST', status_code: '200' }) >= 1);
    assert.ok(metricValue(text, 'awnet_process_resident_memory_bytes') > 0);
  });

  it('serves an OpenAPI document and its UI, and answers unknown routes with AWNET_NOT_FOUND', async () => {
    const doc = (await server.app.inject('/docs/json')).json<{ openapi: string; paths: Record<string, unknown> }>();
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/v1/classify', '/v1/models/{name}/classify', '/v2', '/v2/health/ready', '/v2/models/{name}/infer']) {
      assert.ok(p in doc.paths, p);
    }
    // Operational endpoints are on the admin port only.
    assert.ok(!('/metrics' in doc.paths));
    assert.equal((await server.app.inject('/metrics')).statusCode, 404);
    assert.equal((await server.app.admin.inject('/metrics')).statusCode, 200);
    const classify = (doc.paths['/v1/classify'] as { post: { requestBody: { content: Record<string, unknown> } } }).post;
    assert.deepEqual(Object.keys(classify.requestBody.content), ['image/*', 'application/octet-stream', 'multipart/form-data']);
    const ui = await server.app.inject('/docs');
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger/i);
    const missing = await server.app.inject('/v3/nothing');
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: 'No route GET /v3/nothing; see /docs', code: 'AWNET_NOT_FOUND', statusCode: 404 });
  });

  it('answers a known path asked with another method with 405, naming the methods it takes', async () => {
    for (const url of ['/v1/classify', '/v1/models/m/classify?top_k=2', '/v2/models/m/infer']) {
      const wrong = await server.app.inject({ method: 'GET', url });
      assert.equal(wrong.statusCode, 405, url);
      assert.equal(wrong.headers['allow'], 'POST', url);
      const path = url.split('?')[0];
      assert.deepEqual(wrong.json(), { error: `GET is not a method of ${path}; it takes POST`, code: 'AWNET_METHOD_NOT_ALLOWED', statusCode: 405 });
    }
    const put = await server.app.inject({ method: 'PUT', url: '/v2/health/ready' });
    assert.equal(put.statusCode, 405);
    assert.equal(put.headers['allow'], 'GET, HEAD');
    assert.equal((await server.app.inject({ method: 'GET', url: '/v1/classify/extra' })).statusCode, 404);
  });
});

describe('AWNET_FLAG_THRESHOLD', () => {
  it('overrides the calibrated threshold of every model', async () => {
    const server = await startServer([writeSyntheticModel({ name: 'strict' })], { AWNET_FLAG_THRESHOLD: '0.01' });
    try {
      const res = await server.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/png' }, payload: await image(0.45) });
      const adversarial = res.json<Classified>().results[0]!.adversarial;
      assert.equal(metricValue((await server.app.admin.inject('/metrics')).body, 'awnet_flag_threshold', { model: 'strict' }), 0.01);
      assert.ok(adversarial.score > 0.01 && adversarial.score < 0.5);
      assert.equal(adversarial.flagged, true);
    } finally {
      await server.close();
    }
  });
});

describe('inputs outside the model\'s range, and the verdict on the v2 answer', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer([writeSyntheticModel({ name: 'ranged' })]);
  });
  after(() => server.close());
  const infer = (data: number[]) =>
    server.app.inject({ method: 'POST', url: '/v2/models/ranged/infer', payload: { inputs: [{ name: 'pixels', shape: [1, 1, 28, 28], datatype: 'FP32', data }] } });

  it('refuses 0-255 pixels with AWNET_INPUT_OUT_OF_RANGE, naming the value, and never scores them', async () => {
    const raw = Array.from(await decodeImage(await image(0.9), GREY_28, { maxInputPixels: 1e6 }), (v) => Math.round(v * 255));
    const res = await infer(raw);
    assert.equal(res.statusCode, 400);
    const body = res.json<{ code: string; error: string }>();
    assert.equal(body.code, 'AWNET_INPUT_OUT_OF_RANGE');
    assert.match(body.error, /holds \d+ at position \d+; valid: pixel values in the model's input range \[0, 1\]/);
    const metrics = (await server.app.admin.inject('/metrics')).body;
    assert.equal(metricValue(metrics, 'awnet_images_total', { model: 'ranged' }), 0, 'not scored');
    assert.equal(metricValue(metrics, 'awnet_images_flagged_total', { model: 'ranged' }), 0, 'not counted as flagged');
    assert.equal((await infer(new Array<number>(784).fill(-0.01))).json<{ code: string }>().code, 'AWNET_INPUT_OUT_OF_RANGE');
  });

  it('answers in-range pixels with a flagged tensor that agrees with the v1 verdict', async () => {
    for (const mean of [0.3, 0.9]) {
      const png = await image(mean);
      const pixels = Array.from(await decodeImage(png, GREY_28, { maxInputPixels: 1e6 }));
      const v2 = (await infer(pixels)).json<{ outputs: { name: string; datatype: string; data: unknown[] }[] }>();
      const flagged = v2.outputs.find((o) => o.name === 'flagged');
      assert.equal(flagged?.datatype, 'BOOL');
      const v1 = (await server.app.inject({ method: 'POST', url: '/v1/models/ranged/classify', headers: { 'content-type': 'image/png' }, payload: png })).json<Classified>();
      assert.deepEqual(flagged?.data, [v1.results[0]!.adversarial.flagged], `mean ${mean}`);
    }
    // The bright image was flagged once on each route, and the metric says through which.
    const metrics = (await server.app.admin.inject('/metrics')).body;
    assert.equal(metricValue(metrics, 'awnet_images_flagged_by_route_total', { model: 'ranged', route: '/v2/models/:name/infer' }), 1);
    assert.equal(metricValue(metrics, 'awnet_images_flagged_by_route_total', { model: 'ranged', route: '/v1/models/:name/classify' }), 1);
  });
});

describe('AWNET_DOCS=false', () => {
  it('serves no OpenAPI document nor UI', async () => {
    const server = await startServer([writeSyntheticModel({ name: 'nodocs' })], { AWNET_DOCS: 'false' });
    try {
      assert.equal((await server.app.inject('/docs')).statusCode, 404);
      assert.equal((await server.app.inject('/docs/json')).statusCode, 404);
      assert.equal((await server.app.inject('/v2/health/ready')).statusCode, 200);
    } finally {
      await server.close();
    }
  });
});

describe('while draining', () => {
  it('refuses new work with AWNET_NOT_READY and Connection: close, but still answers probes and scrapes', async () => {
    const server = await startServer([writeSyntheticModel({ name: 'draining' })]);
    try {
      server.app.accepting.value = false;
      server.app.models.setReady(false);
      const res = await server.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/png' }, payload: await image(0.3) });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().code, 'AWNET_NOT_READY');
      assert.equal(res.headers['connection'], 'close');
      const infer = await server.app.inject({ method: 'POST', url: '/v2/models/draining/infer', payload: { inputs: [] } });
      assert.equal(infer.json().code, 'AWNET_NOT_READY');
      const ready = await server.app.inject('/v2/health/ready');
      assert.equal(ready.statusCode, 503);
      assert.deepEqual(ready.json(), { ready: false });
      assert.equal((await server.app.inject('/v2/models/draining/ready')).statusCode, 503);
      assert.equal((await server.app.inject('/v2/health/live')).statusCode, 200);
      const metrics = await server.app.admin.inject('/metrics');
      assert.equal(metrics.statusCode, 200);
      assert.equal(metricValue(metrics.body, 'awnet_model_ready', { model: 'draining' }), 0);
      assert.equal(metricValue(metrics.body, 'awnet_errors_total', { code: 'AWNET_NOT_READY' }), 2);
    } finally {
      await server.close();
    }
  });
});
