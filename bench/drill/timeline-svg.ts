import { escapeXml, formatTick, niceTicks, seriesStroke } from '../../src/eval/robustness-curve.js';
import { RAISED_SCORE, type ScenarioResult } from './runner.js';
import type { Interval, Point } from './timeline.js';

const FONT = 'DejaVu Sans, Arial, Helvetica, sans-serif';
const WIDTH = 900;
const LEFT = 90;
const RIGHT = 30;
const BAND = 18;
const PANEL = 110;
const GAP = 34;

interface Panel {
  readonly label: string;
  readonly series: readonly { name: string; points: readonly Point[] }[];
  /** A horizontal reference line (the spike alert's 10 %). */
  readonly line?: { value: number; label: string };
  readonly floor: number;
}

const n = (v: number): string => v.toFixed(1);

/** Ticks covering [min, max] at the step niceTicks picks for their span. */
function ticks(min: number, max: number): number[] {
  const step = niceTicks(max - min)[1] ?? 1;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(Number(v.toFixed(6)));
  return out;
}

/**
 * One scenario over time as a standalone SVG: the alerts' pending and firing spans as
 * bands on top, then the flagged fraction (with the spike alert's 10 % line), images and
 * errors per second, and the clients and clusters across keys suspected of a query attack;
 * the campaign shaded.
 */
export function renderTimelineSvg(s: ScenarioResult, factor: number): string {
  const t = s.timeline;
  const x0 = t.record.start;
  const x1 = t.record.end ?? t.campaign.end ?? 1;
  const alertNames = Object.keys(t.alerts).sort();
  const bands = Math.max(alertNames.length, 1);
  const panels: Panel[] = [
    { label: 'flagged fraction', series: [{ name: 'flagged fraction (2m)', points: t.flaggedFraction }, { name: `scoring above ${RAISED_SCORE} (2m)`, points: t.raisedScoreShare }], line: { value: 0.1, label: 'spike limit 10 %' }, floor: 0.2 },
    { label: 'per second', series: [{ name: 'images scored', points: t.imagesPerSecond }, { name: 'error answers', points: t.errorsPerSecond }], floor: 1 },
    { label: 'query-attack suspects', series: [{ name: 'clients', points: t.suspects }, { name: 'clusters across keys', points: t.clusters }], floor: 2 },
  ];
  const top = 50;
  const bandTop = top;
  const panelTop = bandTop + bands * BAND + GAP;
  const height = panelTop + panels.length * (PANEL + GAP) + 30;
  const plotW = WIDTH - LEFT - RIGHT;
  const x = (v: number): number => LEFT + ((v - x0) / (x1 - x0)) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(s.title)}</text>`,
    `<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#555555">seconds from the campaign's start (drill time; × ${factor} at the rules' real windows)</text>`,
  ];
  const campaignEnd = t.campaign.end ?? x1;
  parts.push(`<rect x="${n(x(t.campaign.start))}" y="${bandTop}" width="${n(x(campaignEnd) - x(t.campaign.start))}" height="${height - bandTop - 30}" fill="#f2f2f2"/>`);
  alertNames.forEach((name, i) => {
    const y = bandTop + i * BAND;
    const spans = t.alerts[name];
    const bar = (span: Interval, colour: string): string => `<rect x="${n(x(Math.max(span.start, x0)))}" y="${y + 2}" width="${n(Math.max(1, x(span.end ?? x1) - x(Math.max(span.start, x0))))}" height="${BAND - 4}" fill="${colour}"/>`;
    parts.push(...(spans?.pending ?? []).map((p) => bar(p, '#E69F00')), ...(spans?.firing ?? []).map((f) => bar(f, '#D55E00')));
    parts.push(`<text x="${LEFT + 4}" y="${y + BAND - 5}" fill="#000000">${escapeXml(name)}</text>`);
  });
  if (alertNames.length === 0) parts.push(`<text x="${LEFT + 4}" y="${bandTop + BAND - 5}" fill="#555555">no alert pending or firing</text>`);
  parts.push(`<text x="${LEFT - 8}" y="${bandTop + 12}" text-anchor="end">alerts</text>`, `<text x="${LEFT - 8}" y="${bandTop + 26}" text-anchor="end" fill="#D55E00">firing</text>`, `<text x="${LEFT - 8}" y="${bandTop + 40}" text-anchor="end" fill="#E69F00">pending</text>`);
  panels.forEach((panel, i) => {
    const py = panelTop + i * (PANEL + GAP);
    const max = Math.max(panel.floor, ...panel.series.flatMap((s) => s.points.map((p) => p.v)), panel.line?.value ?? 0) * 1.05;
    const y = (v: number): number => py + PANEL - (v / max) * PANEL;
    for (const tick of niceTicks(max, 3)) {
      if (tick > max) continue;
      parts.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${n(y(tick))}" y2="${n(y(tick))}" stroke="#e0e0e0"/>`, `<text x="${LEFT - 6}" y="${n(y(tick) + 4)}" text-anchor="end">${formatTick(tick)}</text>`);
    }
    if (panel.line) parts.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${n(y(panel.line.value))}" y2="${n(y(panel.line.value))}" stroke="#CC79A7" stroke-dasharray="6 4"/>`, `<text x="${LEFT + plotW - 4}" y="${n(y(panel.line.value) - 4)}" text-anchor="end" fill="#CC79A7">${escapeXml(panel.line.label)}</text>`);
    panel.series.forEach((series, j) => {
      const { colour } = seriesStroke(j);
      const pts = series.points.filter((p) => p.t >= x0 && p.t <= x1);
      if (pts.length > 0) parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map((p) => `${n(x(p.t))},${n(y(p.v))}`).join(' ')}"/>`);
      parts.push(`<text x="${LEFT + 8 + j * 170}" y="${py - 6}" fill="${colour}">${escapeXml(series.name)}</text>`);
    });
    parts.push(`<rect x="${LEFT}" y="${py}" width="${plotW}" height="${PANEL}" fill="none" stroke="#333333"/>`, `<text transform="translate(18 ${py + PANEL / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.label)}</text>`);
  });
  const axisY = panelTop + panels.length * (PANEL + GAP) - GAP + 16;
  for (const tick of ticks(x0, x1)) parts.push(`<text x="${n(x(tick))}" y="${axisY}" text-anchor="middle">${formatTick(tick)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
