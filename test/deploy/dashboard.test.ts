import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { concrete, queries, readDashboard, type Dashboard, type Panel } from './dashboard.js';
import { run } from '../../bench/drill/repo.js';
import { metricsIn, seriesNames, serviceMetricTypes } from './service-metrics.js';

describe('Grafana dashboard', () => {
  let dashboard: Dashboard;
  let scratch = '';
  before(async () => {
    dashboard = await readDashboard();
    scratch = await mkdtemp(path.join(tmpdir(), 'awnet-dashboard-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('is a dashboard with a data-source variable and namespace/model filters', () => {
    assert.equal(dashboard.uid, 'awnet-serve');
    assert.ok(dashboard.schemaVersion >= 36);
    assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'namespace', 'model']);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24, `${p.title}: x ${x} w ${w}`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          assert.ok(!cells.has(cell), `${p.title} overlaps another panel at ${cell}`);
          cells.add(cell);
        }
      }
    }
  });

  it('every panel queries the chosen Prometheus data source', () => {
    for (const p of dashboard.panels.filter((panel) => panel.type !== 'row')) {
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
      assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
      for (const t of p.targets ?? []) assert.deepEqual(t.datasource, p.datasource, `${p.title} ${t.refId}`);
    }
  });

  it('shows what operators need: flagged fraction, score distribution, throughput, latency, batching, queue, errors, provider', () => {
    const all = queries(dashboard).map((q) => q.expr).join('\n');
    for (const needle of [
      'awnet_images_flagged_total',
      'awnet_adversarial_score_bucket',
      'rate(awnet_images_total',
      'histogram_quantile(0.5, sum by (le) (rate(awnet_http_request_duration_seconds_bucket',
      'histogram_quantile(0.99, sum by (le) (rate(awnet_http_request_duration_seconds_bucket',
      'awnet_batch_size',
      'awnet_queue_depth',
      'awnet_errors_total',
      'execution_provider',
    ]) {
      assert.ok(all.includes(needle), `no query with ${needle}`);
    }
    assert.ok(dashboard.panels.some((p) => p.type === 'heatmap' && (p.targets ?? []).some((t) => t.expr.includes('awnet_adversarial_score_bucket'))));
  });

  it('never blurs models or units: one score heatmap per model, unscreened traffic and thresholds shown, one unit per panel', () => {
    const panels = dashboard.panels as (Panel & { repeat?: string; fieldConfig?: { defaults?: { unit?: string } } })[];
    const heatmap = panels.find((p) => p.type === 'heatmap');
    // Summed over models, each model's threshold boundary is lost, and a model that scores 0 swamps the rest.
    assert.equal(heatmap?.repeat, 'model');
    const all = queries(dashboard).map((q) => q.expr).join('\n');
    for (const needle of ['awnet_images_unscreened_total', 'awnet_flag_threshold', 'awnet_http_request_processing_seconds_bucket']) assert.ok(all.includes(needle), `no query with ${needle}`);
    // A query rescaled by hand (bytes / 1e9 beside seconds) means two units on one axis.
    for (const q of queries(dashboard)) assert.doesNotMatch(q.expr, /\/ 1e\d/, `${q.panel} ${q.refId} rescales by hand`);
    const lag = panels.find((p) => (p.targets ?? []).some((t) => t.expr.includes('eventloop_lag')));
    assert.equal(lag?.fieldConfig?.defaults?.unit, 's');
  });

  it('queries only metrics the service exports', async () => {
    const exported = seriesNames(await serviceMetricTypes());
    for (const q of queries(dashboard)) {
      const used = metricsIn(q.expr);
      assert.ok(used.size > 0, `${q.panel} ${q.refId}: no metric found in ${q.expr}`);
      for (const m of used) assert.ok(exported.has(m), `${q.panel} ${q.refId}: ${m} is not exported by the service`);
    }
  });

  it('every query is valid PromQL (parsed by promtool)', async () => {
    const rules = queries(dashboard).map((q, i) => ({ record: `dashboard:query_${i}:check`, expr: concrete(q.expr) }));
    const file = path.join(scratch, 'dashboard-queries.yml');
    await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const result = await run('promtool', ['check', 'rules', file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });
});
