import { durationSeconds, isAlert, shortenRules, type RuleFile } from './rules.js';

/** Service settings that are time windows, in seconds: compressed with the rules. */
export const SERVICE_WINDOW_KEYS = ['AWNET_QUERY_ATTACK_WINDOW_SECONDS', 'AWNET_FLAGGED_WINDOW_SECONDS'] as const;

/**
 * The drill plays the rules `factor` times faster than real time: every range selector and
 * every `for:` of the rules, and the service's time windows, divided by `factor` (whole
 * seconds, at least 1). Fractions, rates per second and counts are left as they are.
 */
export function compressRules(rules: RuleFile, factor: number): RuleFile {
  return shortenRules(rules, factor, 1);
}

export function compressServiceEnv(env: Readonly<Record<string, string>>, factor: number): Record<string, string> {
  const out = { ...env };
  for (const key of SERVICE_WINDOW_KEYS) {
    if (out[key] !== undefined) out[key] = String(Math.max(1, Math.round(Number(out[key]) / factor)));
  }
  return out;
}

/** One alert's windows and `for:` as written and as the drill runs them. */
export interface CompressedAlert {
  readonly alert: string;
  /** "2m → 2 s", one per distinct window its expression reads, recorded series included. */
  readonly windows: readonly string[];
  readonly for: string;
}

const RANGE = /\[(\d+(?:ms|s|m|h|d|w|y))\]/g;
const SERIES = /[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+/g;

function compressed(text: string, factor: number): string {
  return `${text} → ${Math.max(1, Math.round(durationSeconds(text) / factor))} s`;
}

/** What compression does to each alert rule: the statement the drill's report carries. */
export function compressionTable(rules: RuleFile, factor: number): CompressedAlert[] {
  const recorded = new Map<string, string>();
  for (const g of rules.groups) for (const r of g.rules) if (!isAlert(r)) recorded.set(r.record, r.expr);
  const windowsOf = (expr: string, seen: Set<string>): string[] => {
    const own = [...expr.matchAll(RANGE)].map((m) => m[1] as string);
    const nested = [...expr.matchAll(SERIES)]
      .map((m) => m[0])
      .filter((name) => recorded.has(name) && !seen.has(name))
      .flatMap((name) => windowsOf(recorded.get(name) as string, seen.add(name)));
    return [...own, ...nested];
  };
  return rules.groups.flatMap((g) =>
    g.rules.filter(isAlert).map((r) => {
      const windows = [...new Set(windowsOf(r.expr, new Set()))].sort((a, b) => durationSeconds(a) - durationSeconds(b));
      return { alert: r.alert, windows: windows.map((w) => compressed(w, factor)), for: r.for === undefined ? 'none' : compressed(r.for, factor) };
    }),
  );
}
