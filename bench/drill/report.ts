import type { CompressedAlert } from './compression.js';
import { RAISED_SCORE, SECURITY_ALERTS, type DrillSettings, type ScenarioResult } from './runner.js';
import type { AlertOutcome } from './timeline.js';

export interface DrillReport {
  readonly createdAt: string;
  readonly command: string;
  readonly wallSeconds: number;
  readonly settings: DrillSettings & { readonly backgroundPerSecond: number; readonly backgroundClients: number; readonly overlay: string };
  /** The service's environment as the drill ran it (the overlay's, compressed). */
  readonly environment: Record<string, string>;
  readonly compression: CompressedAlert[];
  readonly scenarios: ScenarioResult[];
  /** Scenarios that could not run to the end, with the error. */
  readonly failed: { readonly id: string; readonly error: string }[];
}

const SHORT: Record<(typeof SECURITY_ALERTS)[number], string> = {
  AwnetAdversarialTrafficSpike: 'spike',
  AwnetAdversarialTrafficAboveBaseline: 'above baseline',
  AwnetQueryAttackSuspected: 'query attack',
  AwnetQueryAttackAcrossKeys: 'query attack across keys',
};

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
const score = (v: number | null): string => (v === null ? '–' : v.toFixed(3));

/** Wall seconds and what they stand for at the rules' real windows (× the compression factor). */
export function drillSeconds(seconds: number, factor: number): string {
  const real = (seconds * factor) / 60;
  return `${seconds.toFixed(1)} s (${real < 10 ? real.toFixed(1) : Math.round(real)} min)`;
}

/** One table cell: whether an alert fired, how soon after the campaign began, how soon it resolved after it ended. */
export function alertCell(o: AlertOutcome | undefined, factor: number): string {
  if (o === undefined || (!o.fired && !o.pendingOnly)) return 'no';
  if (!o.fired) return 'no (pending only)';
  const resolved = o.toResolve === null ? 'still firing at the end' : `resolved ${drillSeconds(o.toResolve, factor)} after the end`;
  return `**fired** after ${drillSeconds(o.toFire ?? 0, factor)}; ${resolved}`;
}

/** The measured table: one row per scenario. */
export function scenarioTable(report: Pick<DrillReport, 'scenarios' | 'settings'>): string {
  const factor = report.settings.factor;
  const head = ['scenario', 'images sent', 'its images flagged', 'peak flagged fraction (all traffic)', 'mean score: its images / clean', `share scoring above ${RAISED_SCORE}: peak / clean`, 'peak suspects: clients / clusters', ...SECURITY_ALERTS.map((a) => SHORT[a]), 'misclassified and unflagged before the first alert', 'other alerts'];
  const rows = report.scenarios.map((s) => {
    const c = s.counts;
    const own = c.answered === 0 ? (c.refused > 0 ? `${c.refused} refused` : '–') : `${c.flagged} of ${c.answered} (${pct(c.flagged / c.answered)})${c.refused > 0 ? `; ${c.refused} refused` : ''}`;
    const through = s.kind === 'attack' ? `${c.throughBeforePage} of ${c.through} that got through` : '–';
    return [
      `${s.title} (\`${s.id}\`)`,
      String(s.sent || c.answered + c.refused),
      own,
      pct(s.peakFlaggedFraction),
      `${score(c.meanScore)} / ${score(s.quietMeanScore)}`,
      `${pct(s.peakRaisedScoreShare)} / ${s.quietRaisedScoreShare === null ? '–' : pct(s.quietRaisedScoreShare)}`,
      `${s.peakSuspects} / ${s.peakClusters}`,
      ...SECURITY_ALERTS.map((a) => alertCell(s.alerts.find((o) => o.alert === a), factor)),
      through,
      s.otherAlertsFired.join(', ') || 'none',
    ];
  });
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function compressionMarkdown(rows: readonly CompressedAlert[], factor: number): string {
  const lines = ['| alert | windows it reads | for |', '| --- | --- | --- |', ...rows.map((r) => `| \`${r.alert}\` | ${r.windows.join(', ') || 'none'} | ${r.for} |`)];
  return `Time runs ${factor}× faster than in production:\n\n${lines.join('\n')}`;
}

export function reportMarkdown(report: DrillReport): string {
  return [
    `# Alerting drill, ${report.createdAt}`,
    '',
    `\`${report.command}\`: ${report.wallSeconds.toFixed(0)} s of wall time. Times are wall seconds after the campaign's start (or end), with what they stand for at the rules' real windows (× ${report.settings.factor}) in brackets.`,
    '',
    scenarioTable(report),
    '',
    ...report.failed.map((f) => `Failed: \`${f.id}\`: ${f.error}\n`),
    compressionMarkdown(report.compression, report.settings.factor),
    '',
  ].join('\n');
}
