import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from '../../../src/server/app.js';
import { ClientKeys } from '../../../src/server/query-attack/client-key.js';
import { loadConfig } from '../../../src/server/config.js';
import { encodeImage } from '../../../src/server/image.js';
import { GREY_28, metricValue } from '../helpers.js';
import { writeSyntheticModel } from '../synthetic-model.js';

const HEADER = 'x-api-key';
// The server's key salt too, so that the keys computed here are the server's.
const SALT = 'query-guard-test';
const hashOf = (key: string): string => new ClientKeys(HEADER, [], SALT).of({ [HEADER]: key }, '127.0.0.1').hash;

/** Noise in [0, 2·mean] (mean 0.3: never flagged by the synthetic model); each seed its own image. */
function noise(seed: number, mean: number): Uint8Array {
  let s = seed * 7919 + 1;
  const top = Math.round(2 * mean * 255) + 1;
  return Uint8Array.from({ length: 28 * 28 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.min(255, (s >>> 8) % top);
  });
}

/** Image `seed` with `changed` pixels nudged: a probe around it. */
function variant(seed: number, probe: number, changed = 6, mean = 0.3): Promise<Buffer> {
  const pixels = noise(seed, mean);
  for (let j = 0; j < changed; j++) {
    const at = (probe * 97 + j * 31) % pixels.length;
    pixels[at] = Math.min(255, pixels[at]! + 25);
  }
  return encodeImage(pixels, GREY_28, 'png');
}

interface Served {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  readonly logs: Record<string, unknown>[];
  readonly evidence: string;
}

async function serve(env: Record<string, string>): Promise<Served> {
  const evidence = await mkdtemp(path.join(tmpdir(), 'awnet-guard-evidence-'));
  const config = loadConfig({
    AWNET_MODELS: writeSyntheticModel({ name: 'guarded' }),
    AWNET_EXECUTION_PROVIDERS: 'cpu',
    AWNET_CLIENT_KEY_HEADER: HEADER,
    AWNET_CLIENT_KEY_SALT: SALT,
    AWNET_QUERY_ATTACK_THRESHOLD: '4',
    AWNET_EVIDENCE_DIR: evidence,
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const registry = new Registry();
  const app = await buildApp({ config, registry, logger: { level: 'info', stream } });
  await app.ready();
  return { app, registry, logs, evidence };
}

const classify = (s: Served, key: string, payload: Buffer, extra: Record<string, string> = {}) =>
  s.app.inject({ method: 'POST', url: '/v1/models/guarded/classify', headers: { 'content-type': 'image/png', [HEADER]: key, ...extra }, payload });

describe('query-attack detection on the routes (header action, evidence on)', () => {
  let s: Served;
  before(async () => {
    s = await serve({ AWNET_QUERY_ATTACK_ACTION: 'header' });
  });
  after(() => s.app.close());

  it('marks the answers of a client probing around one image, and only those', async () => {
    const marks: boolean[] = [];
    for (let probe = 0; probe < 10; probe++) {
      const res = await classify(s, 'prober', await variant(1, probe));
      assert.equal(res.statusCode, 200);
      marks.push(res.headers['x-query-attack-suspected'] === '1');
      const clean = await classify(s, 'clean', await variant(100 + probe, 0, 0));
      assert.equal(clean.statusCode, 200);
      assert.equal(clean.headers['x-query-attack-suspected'], undefined);
    }
    assert.equal(marks[0], false);
    assert.ok(marks.indexOf(true) > 0 && marks.slice(marks.indexOf(true)).every(Boolean), marks.join(','));
    const metrics = await s.registry.metrics();
    assert.equal(metricValue(metrics, 'awnet_query_attack_suspected_clients'), 1);
    assert.equal(metricValue(metrics, 'awnet_query_attack_tracked_clients'), 2);
    assert.equal(metricValue(metrics, 'awnet_query_attack_requests_total', { model: 'guarded', action: 'header' }), marks.filter(Boolean).length);
  });

  it('logs the suspected client once, and each of its queries, by key hash and request id', () => {
    const suspected = s.logs.filter((l) => l.event === 'query-attack-suspected');
    assert.equal(suspected.length, 1);
    assert.equal(suspected[0]!.client, hashOf('prober'));
    assert.equal(suspected[0]!.level, 40);
    const queries = s.logs.filter((l) => l.event === 'adversarial-query');
    assert.ok(queries.length > 0 && queries.every((l) => l.client === hashOf('prober') && l.decision === 'header' && l.model === 'guarded' && typeof l.reqId === 'string'));
    assert.ok(!JSON.stringify(s.logs).includes('prober'), 'the key itself is never logged');
  });

  it('keeps evidence of suspected queries and flagged images, nothing of clean traffic', async () => {
    const flagged = await classify(s, 'bright', await variant(7, 0, 0, 0.8));
    assert.equal(flagged.json<{ results: { adversarial: { flagged: boolean } }[] }>().results[0]!.adversarial.flagged, true);
    await s.app.queryGuard.evidence!.flush();
    const names = await readdir(s.evidence);
    const records = await Promise.all(names.filter((n) => n.endsWith('.json')).map(async (n) => JSON.parse(await readFile(path.join(s.evidence, n), 'utf8')) as Record<string, unknown>));
    assert.equal(names.length, records.length * 2);
    assert.ok(records.length > 1);
    assert.ok(records.every((r) => r.client !== hashOf('clean')));
    const bright = records.filter((r) => r.client === hashOf('bright'));
    assert.equal(bright.length, 1);
    assert.equal(bright[0]!.flagged, true);
    assert.ok(typeof bright[0]!.score === 'number' && Array.isArray(bright[0]!.probabilities) && typeof bright[0]!.time === 'string');
    assert.ok(records.filter((r) => r.client === hashOf('prober')).every((r) => r.suspected === true));
  });

  it('does not count exact repeats (retries)', async () => {
    const png = await variant(55, 0);
    for (let i = 0; i < 12; i++) assert.equal((await classify(s, 'retrier', png)).headers['x-query-attack-suspected'], undefined);
  });

  it('survives hostile keys without growing: spoofed X-Forwarded-For, very long and odd header values', async () => {
    const png = await variant(60, 0, 0);
    const before = s.app.queryGuard.memory!.size;
    for (let i = 0; i < 20; i++) {
      const res = await s.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/png', 'x-forwarded-for': `198.51.100.${i}` }, payload: png });
      assert.equal(res.statusCode, 200);
    }
    assert.equal(s.app.queryGuard.memory!.size, before + 1, 'no proxy is trusted: one client, the peer');
    for (const key of ['k'.repeat(8000), 'cl\u00e9-\u00fcn\u00efc\u00f8d\u00e9']) assert.equal((await classify(s, key, png)).statusCode, 200);
  });
});

describe('query-attack detection with the throttle action', () => {
  let s: Served;
  before(async () => {
    s = await serve({ AWNET_QUERY_ATTACK_ACTION: 'throttle', AWNET_EVIDENCE_DIR: '' });
  });
  after(() => s.app.close());

  it('refuses a probing client with 429, Retry-After and a stable code; others go on', async () => {
    let refused: Awaited<ReturnType<typeof classify>> | undefined;
    for (let probe = 0; probe < 12 && !refused; probe++) {
      const res = await classify(s, 'prober', await variant(2, probe));
      if (res.statusCode === 429) refused = res;
      else assert.equal(res.statusCode, 200);
    }
    assert.ok(refused, 'refused within 12 probes');
    assert.equal(refused.json<{ code: string }>().code, 'AWNET_QUERY_ATTACK_THROTTLED');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal(refused.headers['x-query-attack-suspected'], '1');
    const distinct = await classify(s, 'prober', await variant(999, 0, 0));
    assert.equal(distinct.statusCode, 429, 'refused before its body is read, whatever it sends');
    const infer = await s.app.inject({
      method: 'POST',
      url: '/v2/models/guarded/infer',
      headers: { [HEADER]: 'prober' },
      payload: { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 1, 28, 28], data: new Array(784).fill(0.3) }] },
    });
    assert.equal(infer.statusCode, 429);
    assert.equal((await classify(s, 'other', await variant(3, 0))).statusCode, 200);
    const bad = await classify(s, 'other', Buffer.from('not an image'));
    assert.equal(bad.json<{ code: string }>().code, 'AWNET_NOT_AN_IMAGE', 'bad input is answered as before');
    assert.ok(metricValue(await s.registry.metrics(), 'awnet_errors_total', { code: 'AWNET_QUERY_ATTACK_THROTTLED' }) >= 2);
  });
});

describe('query-attack detection across client keys', () => {
  let s: Served;
  before(async () => {
    s = await serve({ AWNET_QUERY_ATTACK_CROSS_KEY_THRESHOLD: '8', AWNET_QUERY_ATTACK_CROSS_KEY_CLIENTS: '5', AWNET_EVIDENCE_DIR: '' });
  });
  after(() => s.app.close());

  it('counts distinct images from many keys, and one image sent unchanged by all of them, as nothing', async () => {
    const popular = await variant(20, 0, 0);
    for (let i = 0; i < 12; i++) {
      assert.equal((await classify(s, `honest-${i}`, await variant(300 + i, 0, 0))).statusCode, 200);
      assert.equal((await classify(s, `honest-${i}`, popular)).statusCode, 200);
    }
    const metrics = await s.registry.metrics();
    assert.equal(metricValue(metrics, 'awnet_query_attack_suspected_clusters'), 0);
    assert.equal(metricValue(metrics, 'awnet_query_attack_cluster_images_total', { model: 'guarded' }), 0);
  });

  it('suspects probes around one image sent under a new key each, which no per-client record sees, and logs the key hashes', async () => {
    for (let probe = 0; probe < 12; probe++) {
      const res = await classify(s, `sprayed-${probe}`, await variant(21, probe));
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-query-attack-suspected'], undefined, 'observed only');
    }
    const metrics = await s.registry.metrics();
    assert.equal(metricValue(metrics, 'awnet_query_attack_suspected_clients'), 0);
    assert.equal(metricValue(metrics, 'awnet_query_attack_suspected_clusters'), 1);
    assert.ok(metricValue(metrics, 'awnet_query_attack_cluster_images_total', { model: 'guarded' }) >= 1);
    const events = s.logs.filter((l) => l.event === 'query-attack-cluster-suspected');
    assert.equal(events.length, 1);
    const event = events[0]!;
    assert.equal(event.level, 40);
    assert.equal(event.model, 'guarded');
    assert.ok((event.images as number) >= 8 && (event.clientCount as number) >= 5);
    const sprayed = new Set(Array.from({ length: 12 }, (_, i) => hashOf(`sprayed-${i}`)));
    assert.ok((event.clients as string[]).length === event.clientCount && (event.clients as string[]).every((h) => sprayed.has(h)));
    assert.ok(!JSON.stringify(s.logs).includes('sprayed-'), 'the keys themselves are never logged');
  });
});

describe('query-attack detection off', () => {
  it('keeps no state and marks nothing', async () => {
    const s = await serve({ AWNET_QUERY_ATTACK_ACTION: 'off', AWNET_EVIDENCE_DIR: '' });
    try {
      assert.equal(s.app.queryGuard.memory, undefined);
      assert.equal(s.app.queryGuard.crossKey, undefined);
      for (let probe = 0; probe < 8; probe++) assert.equal((await classify(s, 'prober', await variant(4, probe))).headers['x-query-attack-suspected'], undefined);
      assert.equal(metricValue(await s.registry.metrics(), 'awnet_query_attack_tracked_clients'), 0);
    } finally {
      await s.app.close();
    }
  });
});
