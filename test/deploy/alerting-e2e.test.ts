import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { attackTestImages, type ImageSet } from './adversary.js';
import { concrete, queries, readDashboard } from './dashboard.js';
import { instructions, readDockerfile } from './dockerfile.js';
import { Child, freePort, waitFor } from './processes.js';
import { PrometheusApi, type ActiveAlert } from './prometheus-api.js';
import { repoPath, run } from './repo.js';
import { readRules, shortenRules } from './rules.js';
import { metricsIn, seriesNames, serviceMetricTypes } from './service-metrics.js';
import { Traffic } from './traffic.js';
import { attacker, MODEL_FILE, MODEL_NAME } from './served-model.js';

/** Rule windows and `for:` are divided by this: 2m → 4 s, 5m → 10 s, 10m → 20 s, for 1m → 2 s. */
const SHORTEN = 30;
/** Prometheus scrapes and evaluates every SCRAPE: the shortest window holds 4 scrapes. */
const SCRAPE = '1s';
const ALERT = 'AwnetAdversarialTrafficSpike';
const SERVICE_ENTRY = repoPath('dist', 'src', 'main.js');
const missing = [MODEL_FILE, SERVICE_ENTRY].filter((f) => !existsSync(f));

describe('alerting end to end: service + Prometheus + adversarial burst', { skip: missing.length > 0 ? `not built or shipped yet: ${missing.join(', ')}` : false }, () => {
  let scratch = '';
  let service: Child | undefined;
  let prometheus: Child | undefined;
  let api: PrometheusApi;
  let traffic: Traffic;
  let serviceBase = '';
  let adminBase = '';
  let images: ImageSet;
  let describeAttack = '';
  let fired = false;

  const spikeAlerts = async (): Promise<ActiveAlert[]> => (await api.alerts()).filter((a) => a.labels.alertname === ALERT);
  const logs = (): string => [service?.tail(), prometheus?.tail()].join('\n');

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'awnet-e2e-'));
    // The adversarial images first: the attack and the service would compete for the CPU.
    const attack = await attacker();
    const started = Date.now();
    images = await attackTestImages(attack.model, 64);
    attack.model.dispose();
    describeAttack = `${attack.description}: ${images.n} Fashion-MNIST test images in ${((Date.now() - started) / 1000).toFixed(1)} s`;

    const servicePort = await freePort();
    const adminPort = await freePort();
    serviceBase = `http://127.0.0.1:${servicePort}`;
    adminBase = `http://127.0.0.1:${adminPort}`;
    service = new Child('awnet-serve', process.execPath, [SERVICE_ENTRY], {
      PATH: process.env.PATH,
      AWNET_HOST: '127.0.0.1',
      AWNET_PORT: String(servicePort),
      AWNET_ADMIN_PORT: String(adminPort),
      AWNET_MODELS: MODEL_FILE,
      AWNET_EXECUTION_PROVIDERS: 'cpu',
      AWNET_WORKERS: '1',
      AWNET_FLAGGED_WINDOW_SECONDS: '10',
      AWNET_LOG_LEVEL: 'warn',
    });
    await waitFor('the service to be ready', 60_000, async () => {
      if (!service?.running) throw new Error(`the service exited\n${service?.tail()}`);
      return (await fetch(`${serviceBase}/v2/health/ready`)).ok || undefined;
    });

    const rules = shortenRules(await readRules(), SHORTEN, 2);
    await writeFile(path.join(scratch, 'rules.yml'), stringify(rules));
    const promPort = await freePort();
    await writeFile(
      path.join(scratch, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: SCRAPE, scrape_timeout: SCRAPE, evaluation_interval: SCRAPE },
        rule_files: ['rules.yml'],
        scrape_configs: [{ job_name: 'awnet-serve', static_configs: [{ targets: [`127.0.0.1:${adminPort}`] }] }],
      }),
    );
    prometheus = new Child('prometheus', 'prometheus', [
      `--config.file=${path.join(scratch, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(scratch, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ], { PATH: process.env.PATH });
    api = new PrometheusApi(`http://127.0.0.1:${promPort}`);
    await waitFor('Prometheus to be ready', 30_000, async () => {
      if (!prometheus?.running) throw new Error(`prometheus exited\n${prometheus?.tail()}`);
      return (await api.ready()) || undefined;
    });
    await waitFor('the first successful scrape', 30_000, async () => ((await api.targetsHealth()).includes('up') ? true : undefined));
    traffic = new Traffic(serviceBase, MODEL_NAME, images.height, images.width);
  });

  after(async () => {
    await traffic?.stop();
    await prometheus?.stop();
    await service?.stop(10_000);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** Runs `body` while traffic of one kind flows; the traffic stops however `body` ends. */
  async function during<T>(kind: 'clean' | 'adversarial', body: () => Promise<T>): Promise<T> {
    traffic.start(kind, kind === 'clean' ? images.clean : images.adversarial, kind === 'clean' ? 100 : 250);
    try {
      return await body();
    } finally {
      await traffic.stop();
    }
  }

  it('clean traffic: the flagged fraction stays low and the alert does not fire', { timeout: 120_000 }, async (t) => {
    let pendingSeen = 0;
    await during('clean', async () => {
      await waitFor('images to reach Prometheus', 30_000, async () => ((await api.query('namespace_model:awnet_images:rate5m > 0')).length > 0 ? true : undefined));
      // Long enough for the shortened 5m and 10m windows and for: to have fired on a spike.
      const until = Date.now() + 1000 * ((300 + 600) / SHORTEN + 5);
      while (Date.now() < until) {
        const active = await spikeAlerts();
        assert.deepEqual(active.filter((a) => a.state === 'firing'), [], logs());
        pendingSeen += active.length;
        await sleep(500);
      }
    });
    const [fraction] = await api.query('namespace_model:awnet_images_flagged:ratio_rate5m');
    assert.ok(fraction, 'the flagged fraction is recorded');
    assert.ok(Number(fraction.value[1]) <= 0.1, `clean flagged fraction ${fraction.value[1]}`);
    t.diagnostic(`clean: flagged fraction ${Number(fraction.value[1]).toFixed(3)}; pending seen in ${pendingSeen} of the polls`);
    assert.equal(traffic.stats.failures, 0, traffic.stats.lastError);
  });

  it('a burst of adversarial images makes the alert fire', { timeout: 180_000 }, async (t) => {
    const started = Date.now();
    const { pending, firing } = await during('adversarial', async () => {
      const pendingAt = await waitFor('the alert to be pending', 60_000, async () => ((await spikeAlerts()).length > 0 ? Date.now() : undefined), 250);
      const alert = await waitFor(`${ALERT} to fire`, 90_000, async () => (await spikeAlerts()).find((a) => a.state === 'firing'), 250);
      return { pending: pendingAt, firing: alert };
    });
    assert.equal(firing.labels.model, MODEL_NAME);
    assert.equal(firing.labels.severity, 'warning');
    assert.equal(firing.labels.team, 'security');
    assert.ok(Number(firing.value) > 0.1, `fraction at firing ${firing.value}`);
    t.diagnostic(describeAttack);
    t.diagnostic(`pending after ${((pending - started) / 1000).toFixed(1)} s, firing after ${((Date.now() - started) / 1000).toFixed(1)} s, flagged fraction ${Number(firing.value).toFixed(3)}`);
    const [recorded] = await api.query(`ALERTS{alertname="${ALERT}", alertstate="firing"}`);
    assert.ok(recorded, 'ALERTS holds the firing alert');
    fired = true;
    assert.equal(traffic.stats.failures, 0, traffic.stats.lastError);
  });

  it('clean traffic again: the alert resolves', { timeout: 120_000 }, async (t) => {
    assert.ok(fired, 'the alert fired in the previous step');
    const started = Date.now();
    await during('clean', () => waitFor(`${ALERT} to resolve`, 90_000, async () => ((await spikeAlerts()).length === 0 ? true : undefined), 250));
    t.diagnostic(`resolved after ${((Date.now() - started) / 1000).toFixed(1)} s of clean traffic`);
    assert.equal(traffic.stats.failures, 0, traffic.stats.lastError);
  });

  it('every rule evaluates without error against the real metrics', async () => {
    const unhealthy = (await api.ruleHealth()).filter((r) => r.health !== 'ok');
    assert.deepEqual(unhealthy, []);
    const rules = await readRules();
    assert.equal((await api.ruleHealth()).length, rules.groups.reduce((n, g) => n + g.rules.length, 0));
  });

  it('every metric the rules and the dashboard read is in the service /metrics output, and every dashboard query returns data', async () => {
    // One error response, so that awnet_errors_total has a series.
    assert.equal((await fetch(`${serviceBase}/v2/models/no-such-model`)).status, 404);
    // Scraped twice, so that a rate over it (the dashboard's errors panel) has data.
    await waitFor('the error to be scraped twice', 10_000, async () => ((await api.query('rate(awnet_errors_total[1m])')).length > 0 ? true : undefined), 250);
    const text = await (await fetch(`${adminBase}/metrics`)).text();
    const exposed = new Set([...text.matchAll(/^([a-z_:][a-z0-9_:]*)[{ ]/gm)].map((m) => m[1] as string));
    const registered = seriesNames(await serviceMetricTypes());
    const dashboard = await readDashboard();
    const rules = await readRules();
    const used = new Set([...queries(dashboard).flatMap((q) => [...metricsIn(q.expr)]), ...rules.groups.flatMap((g) => g.rules.flatMap((r) => [...metricsIn(r.expr)]))]);
    for (const m of used) {
      if (m === 'up' || m.startsWith('kube_')) continue;
      assert.ok(exposed.has(m), `${m} is not in /metrics`);
      assert.ok(registered.has(m), `${m} is not registered by the service`);
    }
    for (const q of queries(dashboard)) {
      const result = await api.query(concrete(q.expr, '1m'));
      assert.ok(result.length > 0, `dashboard "${q.panel}" ${q.refId} returned nothing: ${concrete(q.expr, '1m')}`);
    }
  });

  it("the image's HEALTHCHECK command passes against the running service and fails without it", async () => {
    const health = instructions(await readDockerfile()).find((i) => i.keyword === 'HEALTHCHECK');
    const cmd = JSON.parse(health?.args.replace(/^.*?CMD\s+/, '') ?? '[]') as string[];
    assert.equal(cmd[0], 'node');
    const port = new URL(serviceBase).port;
    const up = await run(process.execPath, cmd.slice(1), { timeoutMs: 10_000, env: { AWNET_PORT: port } });
    assert.equal(up.code, 0, up.stderr);
    const down = await run(process.execPath, cmd.slice(1), { timeoutMs: 10_000, env: { AWNET_PORT: String(await freePort()) } });
    assert.equal(down.code, 1);
  });

  it('reads the service logs for crashes', async () => {
    assert.ok(service?.running, logs());
    assert.doesNotMatch(service?.tail(20_000) ?? '', /"level":(50|60)/, 'no error or fatal log lines');
  });
});
