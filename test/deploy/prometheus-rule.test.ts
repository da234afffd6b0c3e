import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { PrometheusRuleError, renderPrometheusRule } from '../../monitoring/prometheus-rule.js';
import { awnetProgram } from '../../src/cli/program.js';
import { catalogue } from '../../src/server/errors.js';
import { repoPath, run } from '../../bench/drill/repo.js';
import { RULES_FILE, readRulesText } from '../../bench/drill/rules.js';

const SCRIPT = repoPath('dist', 'monitoring', 'prometheus-rule.js');
const COMMITTED = repoPath('k8s', 'components', 'alerting', 'prometheus-rule.yaml');

describe('prometheus-rule script (monitoring/prometheus-rule.ts)', () => {
  let scratch = '';
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'awnet-prometheus-rule-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('the committed PrometheusRule is exactly what the rule file generates', async () => {
    assert.equal(await renderPrometheusRule(await readRulesText()), await readFile(COMMITTED, 'utf8'));
    const result = await run(process.execPath, [SCRIPT, '--check']);
    assert.equal(result.code, 0, result.stderr);
  });

  it('writes a PrometheusRule whose spec is the rule file', async () => {
    const out = path.join(scratch, 'rule.yaml');
    const result = await run(process.execPath, [SCRIPT, '--rules', RULES_FILE, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const manifest = parse(await readFile(out, 'utf8')) as { apiVersion: string; kind: string; spec: unknown };
    assert.equal(manifest.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(manifest.kind, 'PrometheusRule');
    assert.deepEqual(manifest.spec, parse(await readRulesText()));
  });

  it('--check fails with a stable code when the manifest is stale', async () => {
    const rules = path.join(scratch, 'changed.yml');
    await writeFile(rules, (await readRulesText()).replace('> 0.1\n', '> 0.2\n'));
    const result = await run(process.execPath, [SCRIPT, '--rules', rules, '--out', COMMITTED, '--check']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^prometheus-rule: .*prometheus-rule\.yaml is not generated from .* \[RULES_MANIFEST_STALE\]$/m);
  });

  it('is deployment tooling: not an awnet command, its codes apart from the service catalogue', async () => {
    assert.deepEqual(awnetProgram().commands.map((c) => c.name()).sort(), ['evaluate', 'export', 'hold', 'train']);
    assert.ok(catalogue().every((e) => !e.code.startsWith('RULES_')));
    const usage = await run(process.execPath, [SCRIPT, '--bogus']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /^prometheus-rule: .*'--bogus'.* \[RULES_BAD_USAGE\]$/m);
  });

  it('bad rule files give clear errors', async () => {
    const missing = await run(process.execPath, [SCRIPT, '--rules', path.join(scratch, 'nope.yml'), '--out', path.join(scratch, 'x.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^prometheus-rule: cannot read the rule file .*nope\.yml: ENOENT \[RULES_UNREADABLE\]$/m);
    await assert.rejects(renderPrometheusRule('groups: [unclosed', 'bad.yml'), (err: unknown) => {
      assert.ok(err instanceof PrometheusRuleError);
      assert.equal(err.code, 'RULES_INVALID');
      assert.match(err.message, /^bad\.yml: not valid YAML/);
      return true;
    });
    await assert.rejects(renderPrometheusRule('rules: []\n', 'empty.yml'), /empty\.yml: expected a Prometheus rule file with a non-empty 'groups' list/);
  });
});
