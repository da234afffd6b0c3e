import { EvalError } from './errors.js';

export interface CurvePoint {
  readonly eps: number;
  /** Accuracy in [0, 1]. */
  readonly accuracy: number;
}

export interface CurveSeries {
  readonly name: string;
  readonly points: readonly CurvePoint[];
}

export interface CurveOptions {
  readonly title?: string;
  /** Caption under the x axis, e.g. the attack that produced the points. */
  readonly xLabel?: string;
  readonly width?: number;
  readonly height?: number;
}

/** Colour-blind-safe palette (Okabe–Ito). */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
/** Once the colours run out, lines repeat them dashed, then dotted, so no two series look alike. */
const DASHES = ['', '9 5', '2 4'];
const FONT = "DejaVu Sans, Arial, Helvetica, sans-serif";

/** Series i's stroke: its colour and, past the palette, a dash pattern (`stroke-dasharray`). */
export function seriesStroke(i: number): { colour: string; dash: string } {
  const dash = DASHES[Math.floor(i / COLOURS.length) % DASHES.length] ?? '';
  return { colour: COLOURS[i % COLOURS.length] ?? '#000000', dash };
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Ticks at "nice" multiples (1, 2, 2.5, 5 × 10^k) covering [0, max]. */
export function niceTicks(max: number, target = 5): number[] {
  if (max <= 0) return [0];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  if ((ticks[ticks.length - 1] ?? 0) < max - step * 1e-9) ticks.push(ticks.length * step);
  return ticks;
}

export function formatTick(v: number): string {
  return Number(v.toPrecision(4)).toString();
}

/**
 * A line chart of accuracy against L∞ eps, one line per model, as a standalone SVG
 * document. Hand-built so it needs no plotting library and renders the same anywhere.
 */
export function renderCurveSvg(series: readonly CurveSeries[], options: CurveOptions = {}): string {
  if (series.length === 0 || series.some((s) => s.points.length === 0)) {
    throw new EvalError('EVAL_BAD_INPUT', 'a robustness curve needs at least one series, each with at least one point');
  }
  for (const s of series) {
    for (const p of s.points) {
      if (!Number.isFinite(p.eps) || p.eps < 0 || !Number.isFinite(p.accuracy) || p.accuracy < 0 || p.accuracy > 1) {
        throw new EvalError(
          'EVAL_BAD_INPUT',
          `curve point of "${s.name}" must have eps >= 0 and accuracy in [0, 1]; got eps ${p.eps}, accuracy ${p.accuracy}`,
        );
      }
    }
  }
  const width = options.width ?? 720;
  const height = options.height ?? 460;
  // Room for the legend: about 7.5 px per character at 13 px.
  const longest = Math.max(...series.map((s) => [...s.name].length));
  const m = { left: 70, right: Math.max(120, Math.ceil(60 + 7.5 * longest)), top: 50, bottom: 65 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const maxEps = Math.max(...series.flatMap((s) => s.points.map((p) => p.eps)));
  const xTicks = niceTicks(maxEps);
  const xMax = Math.max(xTicks[xTicks.length - 1] ?? 1, 1e-12);
  const x = (eps: number): number => m.left + (eps / xMax) * plotW;
  const y = (acc: number): number => m.top + (1 - acc) * plotH;
  const n = (v: number): string => v.toFixed(2);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  if (options.title) {
    parts.push(`<text x="${width / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`);
  }
  for (let t = 0; t <= 10; t++) {
    const acc = t / 10;
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${n(y(acc))}" y2="${n(y(acc))}" stroke="#e0e0e0"/>`,
      `<text x="${m.left - 8}" y="${n(y(acc) + 4)}" text-anchor="end">${t * 10}</text>`,
    );
  }
  for (const t of xTicks) {
    parts.push(
      `<line x1="${n(x(t))}" x2="${n(x(t))}" y1="${m.top}" y2="${m.top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${n(x(t))}" y="${m.top + plotH + 20}" text-anchor="middle">${formatTick(t)}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 18}" text-anchor="middle">${escapeXml(options.xLabel ?? 'L∞ eps')}</text>`,
    `<text transform="translate(20 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">accuracy (%)</text>`,
  );
  series.forEach((s, i) => {
    const { colour, dash } = seriesStroke(i);
    const dashed = dash === '' ? '' : ` stroke-dasharray="${dash}"`;
    const pts = [...s.points].sort((a, b) => a.eps - b.eps);
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2.5"${dashed} points="${pts.map((p) => `${n(x(p.eps))},${n(y(p.accuracy))}`).join(' ')}"/>`,
      ...pts.map((p) => `<circle cx="${n(x(p.eps))}" cy="${n(y(p.accuracy))}" r="4" fill="${colour}"/>`),
    );
    const ly = m.top + 10 + i * 24;
    const lx = m.left + plotW + 16;
    parts.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2.5"${dashed}/>`,
      `<text x="${lx + 32}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
