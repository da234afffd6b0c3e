import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { attackTestImages, EPS, testImages, type ImageSet } from '../../bench/drill/adversary.js';
import { Background } from '../../bench/drill/background.js';
import { compressRules, compressServiceEnv } from '../../bench/drill/compression.js';
import { overlayEnvironment } from '../../bench/drill/overlay-env.js';
import { freePort, waitFor } from '../../bench/drill/processes.js';
import type { PrometheusApi } from '../../bench/drill/prometheus-api.js';
import { PrometheusServer } from '../../bench/drill/prometheus-server.js';
import { run } from '../../bench/drill/repo.js';
import { readRules } from '../../bench/drill/rules.js';
import { runScenario, type DrillSettings, type ScenarioStack } from '../../bench/drill/runner.js';
import { driftScenario, uploadScenario } from '../../bench/drill/scenarios.js';
import { attacker, MODEL_FILE, MODEL_NAME } from '../../bench/drill/served-model.js';
import { SERVICE_ENTRY, ServiceProcess } from '../../bench/drill/service-process.js';
import { CLIENT_KEY_HEADER } from '../../bench/drill/traffic.js';
import { benignSettings, corruptRows, type BenignSetting } from '../../src/eval/benign.js';
import { concrete, queries, readDashboard } from './dashboard.js';
import { instructions, readDockerfile } from './dockerfile.js';
import { metricsIn, seriesNames, serviceMetricTypes } from './service-metrics.js';

/**
 * A short version of the alerting drill (npm run drill): the drill's own scenario runner,
 * time compressed as the drill is (60×), with campaigns of 10 compressed minutes: one
 * benign drift that must not page and one adversarial campaign that must.
 */
const SETTINGS: DrillSettings = {
  factor: 60,
  interval: 0.5,
  warmupSeconds: 5,
  campaignSeconds: 10,
  cooldownSeconds: 15,
  attackPerSecond: 10,
  quietFlaggedFraction: 0.001,
};
const ALERT = 'AwnetAdversarialTrafficSpike';
const missing = [MODEL_FILE, SERVICE_ENTRY].filter((f) => !existsSync(f));

describe('alerting end to end: service + Prometheus + drill scenarios', { skip: missing.length > 0 ? `not built or shipped yet: ${missing.join(', ')}` : false }, () => {
  let service: ServiceProcess | undefined;
  let prometheus: PrometheusServer | undefined;
  let api: PrometheusApi;
  let stack: ScenarioStack;
  let images: ImageSet;
  let drifted: Float32Array;
  let describeAttack = '';

  const logs = (): string => [service?.child.tail(), prometheus?.child.tail()].join('\n');

  before(async () => {
    // The adversarial images first: the attack and the service would compete for the CPU.
    const attack = await attacker();
    const started = Date.now();
    images = await attackTestImages(attack.model, 32);
    attack.model.dispose();
    describeAttack = `${attack.description}: ${images.n} Fashion-MNIST test images in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    const background = await testImages(100, 1000);
    const [noise] = benignSettings(EPS, ['uniform-eps']);
    drifted = await corruptRows(background.clean, background.n, { height: background.height, width: background.width, channels: 1 }, noise as BenignSetting, 0, 1000);

    const env = compressServiceEnv(await overlayEnvironment('cpu'), SETTINGS.factor);
    service = await ServiceProcess.start({ ...env, AWNET_MODELS: MODEL_FILE, AWNET_LOG_LEVEL: 'warn', AWNET_CLIENT_KEY_HEADER: CLIENT_KEY_HEADER });
    const rules = compressRules(await readRules(), SETTINGS.factor);
    // A Prometheus of its own for the whole file (each scenario starts another, empty one).
    prometheus = await PrometheusServer.start({ rules, interval: '500ms', target: service.adminTarget });
    api = prometheus.api;
    stack = { service, model: MODEL_NAME, height: images.height, width: images.width, rules, background: new Background(service.base, MODEL_NAME, background, 40, 20) };
  });

  after(async () => {
    await prometheus?.stop();
    await service?.stop();
  });

  it('benign drift (uniform noise ±0.1 on all traffic) pages nobody', { timeout: 120_000 }, async (t) => {
    const result = await runScenario(driftScenario('drift', 'benign drift', drifted), stack, SETTINGS);
    assert.deepEqual(result.alerts.filter((a) => a.fired).map((a) => a.alert), [], logs());
    assert.ok(result.counts.answered > 100, `the drifted traffic was answered (${result.counts.answered} images)`);
    assert.ok(result.peakFlaggedFraction <= 0.1, `peak flagged fraction ${result.peakFlaggedFraction}`);
    t.diagnostic(`drift: ${result.counts.flagged} of ${result.counts.answered} flagged, peak flagged fraction ${result.peakFlaggedFraction.toFixed(3)}`);
    assert.equal(stack.background.stats.failures, 0, stack.background.stats.lastError);
  });

  it('an adversarial campaign fires the spike alert during the campaign, and it resolves after', { timeout: 120_000 }, async (t) => {
    const result = await runScenario(uploadScenario('pgd', 'PGD campaign', images.adversarial, images, 'attacker'), stack, SETTINGS);
    const spike = result.alerts.find((a) => a.alert === ALERT);
    assert.ok(spike?.fired, `${ALERT} did not fire; peak flagged fraction ${result.peakFlaggedFraction}\n${logs()}`);
    assert.ok((spike.toFire ?? Infinity) < SETTINGS.campaignSeconds, `fired ${spike.toFire} s after the start`);
    assert.notEqual(spike.toResolve, null, 'resolved after the campaign');
    assert.ok(result.counts.flagged > result.counts.answered / 2, `${result.counts.flagged} of ${result.counts.answered} campaign images flagged`);
    t.diagnostic(describeAttack);
    t.diagnostic(`fired after ${spike.toFire?.toFixed(1)} s, resolved ${spike.toResolve?.toFixed(1)} s after the end; peak flagged fraction ${result.peakFlaggedFraction.toFixed(3)}`);
    assert.equal(stack.background.stats.failures, 0, stack.background.stats.lastError);
  });

  it('every rule evaluates without error against the real metrics', async () => {
    const unhealthy = (await api.ruleHealth()).filter((r) => r.health !== 'ok');
    assert.deepEqual(unhealthy, []);
    const rules = await readRules();
    assert.equal((await api.ruleHealth()).length, rules.groups.reduce((n, g) => n + g.rules.length, 0));
  });

  it('every metric the rules and the dashboard read is in the service /metrics output, and every dashboard query returns data', async () => {
    // One error response, so that awnet_errors_total has a series.
    assert.equal((await fetch(`${service?.base}/v2/models/no-such-model`)).status, 404);
    // Scraped twice, so that a rate over it (the dashboard's errors panel) has data.
    await waitFor('the error to be scraped twice', 10_000, async () => ((await api.query('rate(awnet_errors_total[1m])')).length > 0 ? true : undefined), 250);
    const text = await (await fetch(`${service?.adminBase}/metrics`)).text();
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
    const port = new URL(service?.base ?? '').port;
    const up = await run(process.execPath, cmd.slice(1), { timeoutMs: 10_000, env: { AWNET_PORT: port } });
    assert.equal(up.code, 0, up.stderr);
    const down = await run(process.execPath, cmd.slice(1), { timeoutMs: 10_000, env: { AWNET_PORT: String(await freePort()) } });
    assert.equal(down.code, 1);
  });

  it('reads the service logs for crashes', async () => {
    assert.ok(service?.child.running, logs());
    assert.doesNotMatch(service?.child.tail(20_000) ?? '', /"level":(50|60)/, 'no error or fatal log lines');
  });
});
