import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/** The Prometheus Operator resource that carries monitoring/alert-rules.yml into a cluster. */
export const PROMETHEUS_RULE_NAME = 'awnet-serve';
export const DEFAULT_RULES_FILE = 'monitoring/alert-rules.yml';
export const DEFAULT_PROMETHEUS_RULE_FILE = 'k8s/base/prometheus-rule.yaml';

const HEADER = [
  `# Generated from ${DEFAULT_RULES_FILE} by \`awnet prometheus-rule\`; edit that file, then run`,
  '#   node dist/src/cli/index.js prometheus-rule',
  '# (a test fails while the two differ).',
].join('\n');

export class PrometheusRuleError extends Error {
  constructor(
    readonly code: 'AWNET_RULES_UNREADABLE' | 'AWNET_RULES_INVALID' | 'AWNET_PROMETHEUS_RULE_STALE',
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
    throw new PrometheusRuleError('AWNET_RULES_INVALID', `${source}: expected a Prometheus rule file with a non-empty 'groups' list`);
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
  // yaml is a development dependency: loaded here so the CLI starts without it in production images.
  const { parse, stringify } = await import('yaml');
  let rules: unknown;
  try {
    rules = parse(rulesText);
  } catch (err) {
    throw new PrometheusRuleError('AWNET_RULES_INVALID', `${source}: not valid YAML (${(err as Error).message})`);
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
    throw new PrometheusRuleError('AWNET_RULES_UNREADABLE', `cannot read the rule file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function registerPrometheusRuleCommand(program: Command): void {
  program
    .command('prometheus-rule')
    .description(`Write the Kubernetes PrometheusRule (${DEFAULT_PROMETHEUS_RULE_FILE}) from the alert rules (${DEFAULT_RULES_FILE}).`)
    .option('--rules <file>', 'Prometheus rule file to read', path.join(repoRoot(), DEFAULT_RULES_FILE))
    .option('--out <file>', 'PrometheusRule manifest to write', path.join(repoRoot(), DEFAULT_PROMETHEUS_RULE_FILE))
    .option('--check', 'write nothing; exit 1 if the manifest differs from what would be written')
    .action(async (options: { rules: string; out: string; check?: boolean }) => {
      try {
        const rendered = await renderPrometheusRule(await readRules(options.rules), options.rules);
        if (options.check) {
          const current = existsSync(options.out) ? await readFile(options.out, 'utf8') : '';
          if (current !== rendered) {
            throw new PrometheusRuleError('AWNET_PROMETHEUS_RULE_STALE', `${options.out} is not generated from ${options.rules}; run: node dist/src/cli/index.js prometheus-rule`);
          }
          console.log(`${options.out} matches ${options.rules}`);
          return;
        }
        await writeFile(options.out, rendered);
        console.log(`wrote ${options.out}`);
      } catch (err) {
        if (!(err instanceof PrometheusRuleError)) throw err;
        console.error(`${err.code}: ${err.message}`);
        process.exitCode = 1;
      }
    });
}
