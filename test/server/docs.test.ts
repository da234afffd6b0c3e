import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { catalogue } from '../../src/server/errors.js';
import { repoRoot } from '../../src/server/repo-root.js';
import { startServer, type TestServer } from './helpers.js';
import { writeSyntheticModel } from './synthetic-model.js';

const doc = (name: string) => readFileSync(path.join(repoRoot(), 'docs', name), 'utf8');

describe('docs/errors.md', () => {
  it('lists every code of the catalogue with its HTTP status, and nothing else', () => {
    const rows = [...doc('errors.md').matchAll(/^\| `(AWNET_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => ({ code: m[1]!, statusCode: Number(m[2]) }));
    const byCode = (a: { code: string }, b: { code: string }) => a.code.localeCompare(b.code);
    assert.ok(rows.length > 10);
    assert.deepEqual([...rows].sort(byCode), catalogue().sort(byCode));
  });
});

describe('docs/metrics.md', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer([writeSyntheticModel()]);
  });
  after(() => server.close());

  it('documents exactly the awnet_ metrics the service registers (process metrics as a group)', async () => {
    const text = doc('metrics.md');
    const documented = new Set([...text.matchAll(/^\| `(awnet_[a-z_]+)`/gm)].map((m) => m[1]!));
    const served = (await server.registry.getMetricsAsJSON()).map((m) => m.name);
    const own = served.filter((name) => !name.startsWith('awnet_process_') && !name.startsWith('awnet_nodejs_'));
    assert.deepEqual([...documented].sort(), own.sort());
    // Node process metrics are documented as a family, and really are exported.
    assert.match(text, /awnet_process_\*/);
    assert.match(text, /awnet_nodejs_\*/);
    assert.ok(served.includes('awnet_process_cpu_seconds_total'));
    assert.ok(served.includes('awnet_nodejs_eventloop_lag_p99_seconds'));
  });

  it('documents each metric with the type and labels it really has', async () => {
    const rows = [...doc('metrics.md').matchAll(/^\| `(awnet_[a-z_]+)` \| (\w+) \| ([^|]*) \|/gm)];
    assert.equal(rows.length, 28);
    const types = new Map((await server.registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
    for (const [, name, type, labelCell] of rows) {
      assert.equal(type, types.get(name!), `${name} type`);
      const metric = server.registry.getSingleMetric(name!) as unknown as { labelNames: string[] };
      const documented = [...labelCell!.matchAll(/`(\w+)`/g)].map((m) => m[1]!).sort();
      assert.deepEqual(documented, [...metric.labelNames].sort(), `${name} labels`);
    }
  });
});
