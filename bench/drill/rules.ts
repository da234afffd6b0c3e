import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { repoPath } from './repo.js';

export interface RecordingRule {
  record: string;
  expr: string;
}
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export type Rule = RecordingRule | AlertRule;
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}
export interface RuleFile {
  groups: RuleGroup[];
}

export const RULES_FILE = repoPath('monitoring', 'alert-rules.yml');
export const RULE_TESTS_FILE = repoPath('monitoring', 'alert-rules.test.yml');

export const readRulesText = (): Promise<string> => readFile(RULES_FILE, 'utf8');
export const readRules = async (): Promise<RuleFile> => parse(await readRulesText()) as RuleFile;

export const isAlert = (r: Rule): r is AlertRule => 'alert' in r;
export const alerts = (file: RuleFile): AlertRule[] => file.groups.flatMap((g) => g.rules.filter(isAlert));

/** Prometheus durations as written in rule files ("5m", "1d", "90s"), in seconds. */
export function durationSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  const match = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(text);
  if (match === null) throw new Error(`not a single-unit Prometheus duration: ${text}`);
  return Number(match[1]) * (units[match[2] as string] as number);
}

/**
 * The same rules with every range selector and every `for:` divided by `factor`
 * (rounded to whole seconds, at least `minSeconds`): for tests that cannot wait minutes.
 */
export function shortenRules(file: RuleFile, factor: number, minSeconds = 1): RuleFile {
  const shorten = (d: string): string => `${Math.max(minSeconds, Math.round(durationSeconds(d) / factor))}s`;
  return {
    groups: file.groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => {
        const expr = r.expr.replace(/\[(\d+(?:ms|s|m|h|d|w|y))\]/g, (_, d: string) => `[${shorten(d)}]`);
        return isAlert(r) && r.for !== undefined ? { ...r, expr, for: shorten(r.for) } : { ...r, expr };
      }),
    })),
  };
}
