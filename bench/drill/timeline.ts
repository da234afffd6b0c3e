import type { RangeSeries } from './prometheus-api.js';
import type { Answer } from './traffic.js';

/** A span of time in unix seconds; `end` null: still going when the record ends. */
export interface Interval {
  readonly start: number;
  readonly end: number | null;
}

export interface Point {
  /** Unix seconds. */
  readonly t: number;
  readonly v: number;
}

/** An alert's pending and firing spans. */
export interface AlertSpans {
  readonly pending: Interval[];
  readonly firing: Interval[];
}

/**
 * Sample times of a series evaluated every `step` seconds turned into spans: samples no
 * further apart than 1.5 steps are one span, which ends one step after its last sample
 * (the evaluation that no longer found it), or is open when that is past `recordEnd`.
 */
export function spansOf(times: readonly number[], step: number, recordEnd: number): Interval[] {
  const sorted = [...times].sort((a, b) => a - b);
  const spans: Interval[] = [];
  let start: number | undefined;
  let last = 0;
  for (const t of sorted) {
    if (start !== undefined && t - last > 1.5 * step) {
      spans.push({ start, end: last + step });
      start = undefined;
    }
    start ??= t;
    last = t;
  }
  if (start !== undefined) spans.push({ start, end: last + step > recordEnd ? null : last + step });
  return spans;
}

/** Every alert's spans from a range query of `ALERTS` (labels alertname and alertstate). */
export function alertSpans(series: readonly RangeSeries[], step: number, recordEnd: number): Map<string, AlertSpans> {
  const times = new Map<string, { pending: number[]; firing: number[] }>();
  for (const s of series) {
    const name = s.metric.alertname;
    const state = s.metric.alertstate;
    if (name === undefined || (state !== 'pending' && state !== 'firing')) continue;
    const entry = times.get(name) ?? { pending: [], firing: [] };
    entry[state].push(...s.values.filter(([, v]) => Number(v) > 0).map(([t]) => t));
    times.set(name, entry);
  }
  return new Map([...times].map(([name, t]) => [name, { pending: spansOf(t.pending, step, recordEnd), firing: spansOf(t.firing, step, recordEnd) }]));
}

export interface AlertOutcome {
  readonly alert: string;
  readonly fired: boolean;
  /** Went pending but never fired. */
  readonly pendingOnly: boolean;
  /** Seconds from the campaign's start to the first firing; null when it did not fire. */
  readonly toFire: number | null;
  /** Seconds from the campaign's end to the last firing span's end; null when it did not fire or still fires. */
  readonly toResolve: number | null;
}

/** What one alert did around a campaign: spans that end before the campaign starts do not count. */
export function alertOutcome(alert: string, spans: AlertSpans | undefined, campaign: Interval): AlertOutcome {
  const relevant = (list: readonly Interval[]): Interval[] => list.filter((s) => s.end === null || s.end > campaign.start);
  const firing = relevant(spans?.firing ?? []);
  const pending = relevant(spans?.pending ?? []);
  const first = firing[0];
  const last = firing[firing.length - 1];
  const campaignEnd = campaign.end ?? campaign.start;
  return {
    alert,
    fired: first !== undefined,
    pendingOnly: first === undefined && pending.length > 0,
    toFire: first === undefined ? null : Math.max(0, first.start - campaign.start),
    toResolve: last === undefined || last.end === null ? null : Math.max(0, last.end - campaignEnd),
  };
}

/** Sum over the series at each timestamp (e.g. over pods or models), in time order. */
export function summed(series: readonly RangeSeries[]): Point[] {
  const byTime = new Map<number, number>();
  for (const s of series) for (const [t, v] of s.values) if (Number.isFinite(Number(v))) byTime.set(t, (byTime.get(t) ?? 0) + Number(v));
  return [...byTime].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

export const peak = (points: readonly Point[], within: Interval): number =>
  points.filter((p) => p.t >= within.start && (within.end === null || p.t <= within.end)).reduce((m, p) => Math.max(m, p.v), 0);

/** Mean of the points within a span; null when none falls in it. */
export function average(points: readonly Point[], within: Interval): number | null {
  const inside = points.filter((p) => p.t >= within.start && (within.end === null || p.t <= within.end));
  return inside.length === 0 ? null : inside.reduce((s, p) => s + p.v, 0) / inside.length;
}

/** What a campaign's answers add up to. `firstPage` (unix seconds) null: no alert fired. */
export interface CampaignCounts {
  readonly answered: number;
  readonly refused: number;
  readonly flagged: number;
  /** Misclassified and not flagged. */
  readonly through: number;
  /** Of those, answered before the first alert fired. */
  readonly throughBeforePage: number;
  /** Mean adversarial score of the answered images that carry one; null: none did. */
  readonly meanScore: number | null;
}

/** Mean adversarial score of the answers that carry one; null when none does. */
export function meanScore(answers: readonly Answer[]): number | null {
  const scores = answers.map((a) => a.score).filter((v) => Number.isFinite(v));
  return scores.length === 0 ? null : scores.reduce((s, v) => s + v, 0) / scores.length;
}

export function campaignCounts(answers: readonly Answer[], firstPage: number | null): CampaignCounts {
  const ok = answers.filter((a) => a.status === 200);
  const through = ok.filter((a) => a.wrong && !a.flagged);
  return {
    answered: ok.length,
    refused: answers.length - ok.length,
    flagged: ok.filter((a) => a.flagged).length,
    through: through.length,
    throughBeforePage: through.filter((a) => firstPage === null || a.at / 1000 < firstPage).length,
    meanScore: meanScore(ok),
  };
}
