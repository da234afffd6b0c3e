import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { repoPath, run } from './repo.js';
import { metricsIn, seriesNames, serviceMetricTypes } from './service-metrics.js';
import { RULES_FILE, RULE_TESTS_FILE, alerts, readRules, readRulesText, shortenRules, type RuleFile } from './rules.js';

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

describe('alert rules (promtool)', () => {
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
    const result = await run('promtool', ['test', 'rules', RULE_TESTS_FILE], { timeoutMs: 180_000 });
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

  it('every alert has a severity, a summary, a description and a runbook section in docs/alerts.md', async () => {
    const doc = await readFile(repoPath('docs', 'alerts.md'), 'utf8');
    const anchors = new Set([...doc.matchAll(/^#{2,3} +(.+)$/gm)].map((m) => (m[1] as string).trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const { alert, labels, annotations } of alerts(rules)) {
      assert.ok(['critical', 'warning'].includes(labels?.severity ?? ''), `${alert}: severity`);
      assert.ok(annotations?.summary, `${alert}: summary`);
      assert.ok(annotations?.description, `${alert}: description`);
      assert.equal(annotations?.runbook_url, `docs/alerts.md#${alert.toLowerCase()}`, `${alert}: runbook_url`);
      assert.ok(anchors.has(alert.toLowerCase()), `${alert}: no "## ${alert}" section in docs/alerts.md`);
    }
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
    const rulesFile = path.join(scratch, 'alert-rules.yml');
    const testsFile = path.join(scratch, 'alert-rules.test.yml');
    await writeFile(rulesFile, mutant);
    await writeFile(testsFile, stringify({ ...tests, rule_files: ['alert-rules.yml'], tests: tests.tests.filter(only) }));
    return (await run('promtool', ['test', 'rules', testsFile])).code;
  }

  it('the unit tests catch a wrong threshold, a missing traffic floor and a shortened for:', async () => {
    const text = await readRulesText();
    const spike = (t: RuleTest) => t.name.startsWith('adversarial spike');
    assert.equal(await promtoolWith(text, spike), 0, 'the unmodified rules pass');
    const mutants = [
      text.replace('namespace_model:awnet_images_flagged:ratio_rate5m > 0.1\n', 'namespace_model:awnet_images_flagged:ratio_rate5m > 0.6\n'),
      text.replace('namespace_model:awnet_images:rate5m >= 0.1\n        for: 10m', 'namespace_model:awnet_images:rate5m >= 0\n        for: 10m'),
      text.replace('for: 10m\n        labels:\n          severity: critical\n        annotations:\n          summary: "Adversarial', 'for: 1m\n        labels:\n          severity: critical\n        annotations:\n          summary: "Adversarial'),
    ];
    for (const mutant of mutants) {
      assert.notEqual(mutant, text, 'the mutation applied');
      assert.notEqual(await promtoolWith(mutant, spike), 0, 'promtool test rules failed on the mutant');
    }
  });

  it('shortened copies of the rules (for the end-to-end test) stay valid', async () => {
    const short = shortenRules(rules, 30, 2);
    const file = path.join(scratch, 'short.yml');
    await writeFile(file, stringify(short));
    const result = await run('promtool', ['check', 'rules', file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const spike = alerts(short).find((a) => a.alert === 'AwnetAdversarialTrafficSpike');
    assert.equal(spike?.for, '20s');
    assert.match(short.groups[0]?.rules[0]?.expr ?? '', /\[10s\]/);
  });
});
