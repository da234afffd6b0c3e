import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** The Prometheus Operator resource that carries monitoring/alert-rules.yml into a cluster. */
export const PROMETHEUS_RULE_NAME = 'awnet-serve';
export const DEFAULT_RULES_FILE = 'monitoring/alert-rules.yml';
export const DEFAULT_PROMETHEUS_RULE_FILE = 'k8s/components/alerting/prometheus-rule.yaml';

const HEADER = [
  `# Generated from ${DEFAULT_RULES_FILE} by monitoring/prometheus-rule.ts; edit that file, then run`,
  '#   npm run prometheus-rule',
  '# (a test fails while the two differ).',
].join('\n');

/**
 * Deployment tooling, not part of the ML command line nor of the service: its codes carry
 * their own RULES_ prefix, apart from the service's AWNET_ error catalogue.
 */
export type PrometheusRuleErrorCode = 'RULES_UNREADABLE' | 'RULES_INVALID' | 'RULES_MANIFEST_STALE';

export class PrometheusRuleError extends Error {
  constructor(
    readonly code: PrometheusRuleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PrometheusRuleError';
  }
}

interface RuleFile {
  groups: unknown[];
}

function isRuleFile(value: unknown): value is RuleFile {
  if (typeof value !== 'object' || value === null) return false;
  const groups = (value as { groups?: unknown }).groups;
  return Array.isArray(groups) && groups.length > 0;
}

/** The PrometheusRule object whose spec is exactly the rule file's content. */
export function prometheusRuleFor(rules: unknown, source = DEFAULT_RULES_FILE): Record<string, unknown> {
  if (!isRuleFile(rules)) {
    throw new PrometheusRuleError('RULES_INVALID', `${source}: expected a Prometheus rule file with a non-empty 'groups' list`);
  }
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: PROMETHEUS_RULE_NAME,
      labels: {
        'app.kubernetes.io/name': 'awnet-serve',
        'app.kubernetes.io/component': 'alerting',
      },
    },
    spec: { groups: rules.groups },
  };
}

/** Renders the rule file's YAML text as the PrometheusRule manifest's YAML text. */
export async function renderPrometheusRule(rulesText: string, source = DEFAULT_RULES_FILE): Promise<string> {
  // yaml is a development dependency, as this script is: production images never run it.
  const { parse, stringify } = await import('yaml');
  let rules: unknown;
  try {
    rules = parse(rulesText);
  } catch (err) {
    throw new PrometheusRuleError('RULES_INVALID', `${source}: not valid YAML (${(err as Error).message})`);
  }
  return `${HEADER}\n${stringify(prometheusRuleFor(rules, source), { lineWidth: 0 })}`;
}

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

async function readRules(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new PrometheusRuleError('RULES_UNREADABLE', `cannot read the rule file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const USAGE = `usage: npm run prometheus-rule -- [--rules <file>] [--out <file>] [--check]
  Writes the Kubernetes PrometheusRule (${DEFAULT_PROMETHEUS_RULE_FILE}) from the alert rules (${DEFAULT_RULES_FILE});
  --check writes nothing and exits 1 if the manifest differs from what would be written.`;

/** The script's command line; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let options: { rules: string; out: string; check: boolean };
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        rules: { type: 'string', default: path.join(repoRoot(), DEFAULT_RULES_FILE) },
        out: { type: 'string', default: path.join(repoRoot(), DEFAULT_PROMETHEUS_RULE_FILE) },
        check: { type: 'boolean', default: false },
      },
    });
    options = values;
  } catch (err) {
    process.stderr.write(`prometheus-rule: ${(err as Error).message} [RULES_BAD_USAGE]\n${USAGE}\n`);
    return 1;
  }
  try {
    const rendered = await renderPrometheusRule(await readRules(options.rules), options.rules);
    if (options.check) {
      const current = existsSync(options.out) ? await readFile(options.out, 'utf8') : '';
      if (current !== rendered) {
        throw new PrometheusRuleError('RULES_MANIFEST_STALE', `${options.out} is not generated from ${options.rules}; run: npm run prometheus-rule`);
      }
      process.stdout.write(`${options.out} matches ${options.rules}\n`);
      return 0;
    }
    await writeFile(options.out, rendered);
    process.stdout.write(`wrote ${options.out}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof PrometheusRuleError)) throw err;
    process.stderr.write(`prometheus-rule: ${err.message} [${err.code}]\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
