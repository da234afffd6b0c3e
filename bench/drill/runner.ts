import { setTimeout as sleep } from 'node:timers/promises';
import type { Background } from './background.js';
import { constantHistory, PrometheusServer } from './prometheus-server.js';
import type { RuleFile } from './rules.js';
import type { Scenario, ScenarioKind } from './scenarios.js';
import type { ServiceProcess } from './service-process.js';
import { alertOutcome, alertSpans, average, campaignCounts, meanScore, peak, summed, type AlertOutcome, type AlertSpans, type CampaignCounts, type Interval, type Point } from './timeline.js';
import type { Answer } from './traffic.js';

/** The alerts any client can raise by what it sends: the drill's subject. */
export const SECURITY_ALERTS = ['AwnetAdversarialTrafficSpike', 'AwnetAdversarialTrafficAboveBaseline', 'AwnetQueryAttackSuspected', 'AwnetQueryAttackAcrossKeys'] as const;

export interface DrillSettings {
  /** Time compression: rule windows, `for:` and the service's windows are divided by it. */
  readonly factor: number;
  /** Prometheus' scrape and evaluation interval, in seconds. */
  readonly interval: number;
  /** Wall seconds of clean traffic before each campaign (the quiet history). */
  readonly warmupSeconds: number;
  /** Wall seconds a campaign lasts at least. */
  readonly campaignSeconds: number;
  /** Wall seconds after a campaign to wait at most for every alert to resolve. */
  readonly cooldownSeconds: number;
  readonly attackPerSecond: number;
  /**
   * The flagged fraction of the quiet day each scenario's Prometheus starts with (the
   * baseline alert's window, compressed, filled in before the start): without it the
   * baseline would be the few seconds of warm-up and the campaign itself.
   */
  readonly quietFlaggedFraction: number;
}

/** The lowest bucket boundary of the score histogram (awnet_adversarial_score). */
export const RAISED_SCORE = 0.05;

/** The series the baseline alert averages over its day. */
const BASELINE_SERIES = 'namespace_model:awnet_images_flagged:ratio_rate5m';
const DAY_SECONDS = 86_400;

export interface ScenarioStack {
  readonly service: ServiceProcess;
  readonly model: string;
  readonly height: number;
  readonly width: number;
  readonly rules: RuleFile;
  readonly background: Background;
}

/** Series over time, in seconds from the campaign's start. */
export interface Timeline {
  readonly flaggedFraction: Point[];
  /** Share of the images scoring above RAISED_SCORE, flagged or not: what the score histogram shows below the threshold. */
  readonly raisedScoreShare: Point[];
  readonly imagesPerSecond: Point[];
  readonly errorsPerSecond: Point[];
  readonly suspects: Point[];
  /** Groups of near-identical images from many keys suspected (query detection across keys). */
  readonly clusters: Point[];
  readonly alerts: Record<string, AlertSpans>;
  /** The campaign, and the whole record, in the same seconds. */
  readonly campaign: Interval;
  readonly record: Interval;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly kind: ScenarioKind;
  readonly detail: string;
  readonly sent: number;
  readonly counts: CampaignCounts;
  /** Highest 2-minute (compressed) flagged fraction of all traffic from the campaign's start to the record's end. */
  readonly peakFlaggedFraction: number;
  readonly peakSuspects: number;
  readonly peakClusters: number;
  /** Highest share of images scoring above RAISED_SCORE from the campaign's start, and its mean over the warm-up. */
  readonly peakRaisedScoreShare: number;
  readonly quietRaisedScoreShare: number | null;
  /** Mean adversarial score of the clean background during the warm-up, for comparison with the campaign's. */
  readonly quietMeanScore: number | null;
  readonly alerts: AlertOutcome[];
  /** Other alerts that fired during the record. */
  readonly otherAlertsFired: string[];
  readonly timeline: Timeline;
}

const shift = (points: readonly Point[], origin: number): Point[] => points.map((p) => ({ t: p.t - origin, v: p.v }));
const shiftSpan = (s: Interval, origin: number): Interval => ({ start: s.start - origin, end: s.end === null ? null : s.end - origin });

/**
 * One scenario from a quiet state: a fresh Prometheus (empty history), clean background
 * traffic for the warm-up, the campaign, then clean traffic until every alert has resolved
 * (or the cool-down ends); Prometheus' own record of the alerts and series is then read back.
 */
export async function runScenario(scenario: Scenario, stack: ScenarioStack, settings: DrillSettings): Promise<ScenarioResult> {
  const history = constantHistory(BASELINE_SERIES, { model: stack.model }, settings.quietFlaggedFraction, Date.now() / 1000 - settings.interval, DAY_SECONDS / settings.factor, settings.interval);
  const prometheus = await PrometheusServer.start({ rules: stack.rules, interval: `${Math.round(settings.interval * 1000)}ms`, target: stack.service.adminTarget, history });
  const api = prometheus.api;
  try {
    const quiet: Answer[] = [];
    stack.background.listen((a) => quiet.push(a));
    stack.background.start();
    const recordStart = Date.now() / 1000;
    await sleep(settings.warmupSeconds * 1000);
    stack.background.listen(undefined);
    const answers: Answer[] = [];
    const campaignStart = Date.now() / 1000;
    const result = await scenario.run({
      base: stack.service.base,
      model: stack.model,
      height: stack.height,
      width: stack.width,
      background: stack.background,
      seconds: settings.campaignSeconds,
      perSecond: settings.attackPerSecond,
      record: (a) => answers.push(a),
    });
    const campaignEnd = Date.now() / 1000;
    let quietSince = 0;
    const minimum = campaignEnd + 4 * settings.interval;
    while (Date.now() / 1000 < campaignEnd + settings.cooldownSeconds) {
      // An answer that does not come counts as not quiet: the loop is bounded by the cool-down.
      const active = await api.alerts().then((a) => a.length, () => 1);
      const suspects = await api.query('sum(awnet_query_attack_suspected_clients) + sum(awnet_query_attack_suspected_clusters)').then((r) => Number(r[0]?.value[1] ?? 0), () => 1);
      const now = Date.now() / 1000;
      if (active > 0 || suspects > 0) quietSince = 0;
      else quietSince ||= now;
      // Quiet for two evaluations after the minimum: nothing left pending or firing.
      if (quietSince > 0 && now >= minimum && now - quietSince >= 2 * settings.interval) break;
      await sleep(settings.interval * 500);
    }
    await stack.background.stop();
    const recordEnd = Date.now() / 1000;

    const step = settings.interval;
    const range = (expr: string) => api.queryRange(expr, recordStart, recordEnd, step);
    // One point per step, summed over the label sets Prometheus returned.
    const series = (expr: string) => range(expr).then(summed);
    const errorWindow = `${Math.max(1, Math.round(120 / settings.factor))}s`;
    const [flagged, raised, images, errors, suspects, clusters, alerts] = await Promise.all([
      series('namespace_model:awnet_images_flagged:ratio_rate2m'),
      series(`1 - sum(rate(awnet_adversarial_score_bucket{le="${RAISED_SCORE}"}[${errorWindow}])) / (sum(rate(awnet_adversarial_score_count[${errorWindow}])) > 0)`),
      series('namespace_model:awnet_images:rate2m'),
      series(`sum(rate(awnet_errors_total[${errorWindow}]))`),
      series('sum(awnet_query_attack_suspected_clients)'),
      series('sum(awnet_query_attack_suspected_clusters)'),
      range('ALERTS'),
    ]);
    const spans = alertSpans(alerts, step, recordEnd);
    const campaign: Interval = { start: campaignStart, end: campaignEnd };
    const outcomes = SECURITY_ALERTS.map((a) => alertOutcome(a, spans.get(a), campaign));
    const firstPage = outcomes.reduce<number | null>((m, o) => (o.toFire === null ? m : Math.min(m ?? Infinity, campaignStart + o.toFire)), null);
    const after: Interval = { start: campaignStart, end: null };
    return {
      id: scenario.id,
      title: scenario.title,
      kind: scenario.kind,
      detail: result.detail,
      sent: result.sent,
      counts: campaignCounts(answers, firstPage),
      peakFlaggedFraction: peak(flagged, after),
      peakSuspects: peak(suspects, after),
      peakClusters: peak(clusters, after),
      quietMeanScore: meanScore(quiet),
      peakRaisedScoreShare: peak(raised, after),
      quietRaisedScoreShare: average(raised, { start: recordStart, end: campaignStart }),
      alerts: outcomes,
      otherAlertsFired: [...spans].filter(([name, s]) => !(SECURITY_ALERTS as readonly string[]).includes(name) && s.firing.length > 0).map(([name]) => name),
      timeline: {
        flaggedFraction: shift(flagged, campaignStart),
        raisedScoreShare: shift(raised, campaignStart),
        imagesPerSecond: shift(images, campaignStart),
        errorsPerSecond: shift(errors, campaignStart),
        suspects: shift(suspects, campaignStart),
        clusters: shift(clusters, campaignStart),
        alerts: Object.fromEntries([...spans].map(([name, s]) => [name, { pending: s.pending.map((x) => shiftSpan(x, campaignStart)), firing: s.firing.map((x) => shiftSpan(x, campaignStart)) }])),
        campaign: shiftSpan(campaign, campaignStart),
        record: { start: recordStart - campaignStart, end: recordEnd - campaignStart },
      },
    };
  } finally {
    await stack.background.stop();
    await prometheus.stop();
  }
}
