import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { HANG_GUARD_MS, onCore } from '../core-pool.js';
import { repoPath, run } from '../../bench/drill/repo.js';
import { metricsIn, seriesNames, serviceMetricTypes } from './service-metrics.js';
import { RULES_FILE, RULE_TESTS_FILE, alerts, readRules, readRulesText, shortenRules, type RuleFile } from '../../bench/drill/rules.js';

interface AlertCheck {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}
interface RuleTest {
  name: string;
  alert_rule_test?: AlertCheck[];
  [key: string]: unknown;
}
interface RuleTestFile {
  rule_files: string[];
  tests: RuleTest[];
  [key: string]: unknown;
}

/** `text` with `from` replaced by `to`; fails unless `from` occurs exactly once. */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  assert.ok(at >= 0 && text.indexOf(from, at + 1) < 0, `expected exactly one ${JSON.stringify(from)}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

// Every test reads the shipped files and writes only into its own scratch folder: the tests (and
// the mutants within one) run side by side, a promtool run per core.
describe('alert rules (promtool)', { concurrency: true }, () => {
  let rules: RuleFile;
  let tests: RuleTestFile;
  let scratch = '';

  before(async () => {
    rules = await readRules();
    tests = parse(await readFile(RULE_TESTS_FILE, 'utf8')) as RuleTestFile;
    scratch = await mkdtemp(path.join(tmpdir(), 'awnet-rules-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('promtool check rules accepts the rule file', async () => {
    const result = await run('promtool', ['check', 'rules', RULES_FILE]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const count = rules.groups.reduce((n, g) => n + g.rules.length, 0);
    assert.match(result.stdout, new RegExp(`SUCCESS: ${count} rules found`));
  });

  it('promtool test rules passes every unit test', async () => {
    const result = await onCore(() => run('promtool', ['test', 'rules', RULE_TESTS_FILE], { timeoutMs: HANG_GUARD_MS }));
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS/);
  });

  it('every alert has tests that see it fire and stay silent', () => {
    const checks = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alerts(rules)) {
      const mine = checks.filter((c) => c.alertname === alert);
      assert.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert}: no test expects it to fire`);
      assert.ok(mine.filter((c) => (c.exp_alerts ?? []).length === 0).length >= 2, `${alert}: fewer than two silent checks`);
    }
  });

  it('every alert has a severity, a summary, a description and an absolute runbook link to its section of docs/alerts.md', async () => {
    const doc = await readFile(repoPath('docs', 'alerts.md'), 'utf8');
    const anchors = new Set([...doc.matchAll(/^#{2,3} +(.+)$/gm)].map((m) => (m[1] as string).trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const bases = new Set<string>();
    for (const { alert, labels, annotations } of alerts(rules)) {
      assert.ok(['critical', 'warning'].includes(labels?.severity ?? ''), `${alert}: severity`);
      assert.ok(annotations?.summary, `${alert}: summary`);
      assert.ok(annotations?.description, `${alert}: description`);
      // Alertmanager and PagerDuty show the link outside this repository: a relative path is dead there.
      const url = new URL(annotations?.runbook_url ?? '', 'relative:/');
      assert.equal(url.protocol, 'https:', `${alert}: runbook_url ${annotations?.runbook_url} is not an absolute https URL`);
      assert.match(url.pathname, /\/docs\/alerts\.md$/, `${alert}: runbook_url points at docs/alerts.md`);
      assert.equal(url.hash, `#${alert.toLowerCase()}`, `${alert}: runbook_url anchor`);
      bases.add(`${url.origin}${url.pathname}`);
      assert.ok(anchors.has(alert.toLowerCase()), `${alert}: no "## ${alert}" section in docs/alerts.md`);
    }
    // One base for all, so that one kustomize replacement (k8s/components/alerting/runbooks.yaml) moves them all.
    assert.equal(bases.size, 1, [...bases].join(', '));
  });

  it('the rules read only metrics the service exports (or kube-state-metrics, up)', async () => {
    const exported = seriesNames(await serviceMetricTypes());
    const used = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => [...metricsIn(r.expr)])));
    assert.ok(used.has('awnet_images_flagged_total') && used.has('awnet_images_total'));
    const foreign = new Set(['up', 'kube_deployment_status_replicas_available', 'kube_deployment_spec_replicas']);
    const unknown = [...used].filter((m) => !exported.has(m) && !foreign.has(m));
    assert.deepEqual(unknown, []);
  });

  // A mutant rule file must make the unit tests fail, or the tests do not pin the rules down.
  async function promtoolWith(mutant: string, only: (t: RuleTest) => boolean): Promise<number> {
    const own = await mkdtemp(path.join(scratch, 'mutant-'));
    const rulesFile = path.join(own, 'alert-rules.yml');
    const testsFile = path.join(own, 'alert-rules.test.yml');
    await writeFile(rulesFile, mutant);
    await writeFile(testsFile, stringify({ ...tests, rule_files: ['alert-rules.yml'], tests: tests.tests.filter(only) }));
    return (await onCore(() => run('promtool', ['test', 'rules', testsFile], { timeoutMs: HANG_GUARD_MS }))).code;
  }

  it('the unit tests catch a wrong threshold, a missing traffic floor, a shortened for:, a wrong count and the old slow rule', async () => {
    const text = await readRulesText();
    const spike = (t: RuleTest) => t.name.startsWith('adversarial spike');
    const start = text.indexOf('        expr: |\n          (\n            namespace_model:awnet_images_flagged:ratio_rate2m');
    const end = text.indexOf('        for: 1m\n', start) + '        for: 1m\n'.length;
    assert.ok(start > 0 && end > start, 'the spike rule was found');
    // The rule as it was: 10 % over 5 minutes at 0.1 image/s, for 10 minutes.
    const slow = `${text.slice(0, start)}        expr: |
          namespace_model:awnet_images_flagged:ratio_rate5m > 0.1
          and on (namespace, model)
          namespace_model:awnet_images:rate5m >= 0.1
        for: 10m
${text.slice(end)}`;
    const mutants: [string, string][] = [
      ['threshold 0.6', replaceOnce(text, 'namespace_model:awnet_images_flagged:ratio_rate2m > 0.1\n', 'namespace_model:awnet_images_flagged:ratio_rate2m > 0.6\n')],
      ['no traffic floor', replaceOnce(text, 'namespace_model:awnet_images:rate2m >= 0.5\n', 'namespace_model:awnet_images:rate2m >= 0\n')],
      ['for: 0m', replaceOnce(text, 'for: 1m\n        # A security signal', 'for: 0m\n        # A security signal')],
      ['200 flagged images', replaceOnce(text, 'namespace_model:awnet_images_flagged:increase10m >= 20\n', 'namespace_model:awnet_images_flagged:increase10m >= 200\n')],
      ['count without a fraction', replaceOnce(text, '    > 0.1\n            and on (namespace, model)\n            namespace_model:awnet_images_flagged:increase10m >= 20', '    > 0\n            and on (namespace, model)\n            namespace_model:awnet_images_flagged:increase10m >= 20')],
      ['the old 5-minute rule', slow],
    ];
    const [unmodified, ...codes] = await Promise.all([text, ...mutants.map(([, mutant]) => mutant)].map((rules) => promtoolWith(rules, spike)));
    assert.equal(unmodified, 0, 'the unmodified rules pass');
    for (const [i, [name]] of mutants.entries()) {
      assert.notEqual(codes[i], 0, `promtool test rules passed on the mutant "${name}"`);
    }
  });

  it('the unit tests catch a burn-rate alert without its request floor, its short window or its error filter', async () => {
    const text = await readRulesText();
    const burn = (t: RuleTest) => t.name.startsWith('error budget burn -');
    const mutants: [string, string][] = [
      ['no request floor', replaceOnce(text, 'namespace_job:awnet_inference_requests:increase1h >= 140', 'namespace_job:awnet_inference_requests:increase1h >= 0')],
      ['no short window', replaceOnce(text, 'namespace_job:awnet_inference_errors:ratio_rate5m > (14.4 * 0.005)', 'namespace_job:awnet_inference_errors:ratio_rate1h > (14.4 * 0.005)')],
      ['6h pair at 1x', replaceOnce(text, 'namespace_job:awnet_inference_errors:ratio_rate6h > (6 * 0.005)', 'namespace_job:awnet_inference_errors:ratio_rate6h > 0.005')],
      ['probes counted', text.replace(/rate\(awnet_http_requests_total\{route=~"\.\*\(classify\|infer\)", status_code=~"5\.\."\}/g, 'rate(awnet_http_requests_total{status_code=~"5.."}')],
    ];
    for (const [name, mutant] of mutants) assert.notEqual(mutant, text, name);
    const [unmodified, ...codes] = await Promise.all([text, ...mutants.map(([, mutant]) => mutant)].map((rules) => promtoolWith(rules, burn)));
    assert.equal(unmodified, 0, 'the unmodified rules pass');
    for (const [i, [name]] of mutants.entries()) {
      assert.notEqual(codes[i], 0, `promtool test rules passed on the mutant "${name}"`);
    }
  });

  it('the unit tests catch a cross-key rule without its for:, reading the per-client gauge, or firing per pod', async () => {
    const text = await readRulesText();
    const across = (t: RuleTest) => t.name.startsWith('query attack across keys -');
    const rule = 'expr: sum by (namespace, job) (awnet_query_attack_suspected_clusters) > 0\n        for: 2m\n';
    const mutants: [string, string][] = [
      ['for: 0m', replaceOnce(text, rule, rule.replace('for: 2m', 'for: 0m'))],
      ['per-client gauge', replaceOnce(text, rule, rule.replace('awnet_query_attack_suspected_clusters', 'awnet_query_attack_suspected_clients'))],
      ['per pod', replaceOnce(text, rule, rule.replace('sum by (namespace, job)', 'sum by (namespace, job, pod)'))],
    ];
    const [unmodified, ...codes] = await Promise.all([text, ...mutants.map(([, mutant]) => mutant)].map((rules) => promtoolWith(rules, across)));
    assert.equal(unmodified, 0, 'the unmodified rules pass');
    for (const [i, [name]] of mutants.entries()) {
      assert.notEqual(codes[i], 0, `promtool test rules passed on the mutant "${name}"`);
    }
  });

  it('alerts anyone can raise by sending images are security signals, never pages; one pod is never a page', () => {
    const byName = new Map(alerts(rules).map((a) => [a.alert, a]));
    for (const name of ['AwnetAdversarialTrafficSpike', 'AwnetAdversarialTrafficAboveBaseline', 'AwnetQueryAttackSuspected', 'AwnetQueryAttackAcrossKeys']) {
      assert.deepEqual(byName.get(name)?.labels, { severity: 'warning', team: 'security' }, name);
    }
    // Per-pod alerts share one severity; the fleet-wide ones page.
    assert.equal(byName.get('AwnetModelNotReady')?.labels?.severity, byName.get('AwnetTargetDown')?.labels?.severity);
    assert.equal(byName.get('AwnetTargetDown')?.labels?.severity, 'warning');
    assert.equal(byName.get('AwnetModelUnavailable')?.labels?.severity, 'critical');
    // Load shedding is counted from its error code, not from every 503 (drain and not-ready answer 503 too).
    assert.match(byName.get('AwnetRequestsRejected')?.expr ?? '', /code="AWNET_QUEUE_FULL"/);
    assert.doesNotMatch(byName.get('AwnetRequestsRejected')?.expr ?? '', /status_code="503"/);
  });

  it('shortened copies of the rules (for the end-to-end test) stay valid', async () => {
    const short = shortenRules(rules, 30, 2);
    const file = path.join(scratch, 'short.yml');
    await writeFile(file, stringify(short));
    const result = await run('promtool', ['check', 'rules', file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const spike = alerts(short).find((a) => a.alert === 'AwnetAdversarialTrafficSpike');
    assert.equal(spike?.for, '2s');
    assert.match(short.groups[0]?.rules[0]?.expr ?? '', /\[10s\]/);
  });
});
