import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { holdLabel } from '../src/model/router-hold.js';
import type { EvaluationReport, ModelReport } from '../src/eval/report.js';
import { svgToPng } from '../src/eval/render-png.js';
import { renderCurveSvg, type CurveSeries } from '../src/eval/robustness-curve.js';

/**
 * The router-hold trade-off: one evaluate report of a checkpoint under several P(clean) caps
 * (`evaluate --mix-cap 1,0.75,0.5,…`) drawn as each figure against the cap: clean accuracy,
 * AutoAttack (fast), the per-image worst case and its W-Robust, what gets through the worst case
 * (misclassified and not flagged) and the benign change flagged most often. One line per
 * figure and ω bound; the table on stdout repeats the figures.
 */

interface HoldRow {
  readonly name: string;
  readonly cap: number;
  readonly omegaBound: number | null;
  readonly clean: number;
  readonly attackedClean: number;
  readonly autoAttack: number | null;
  readonly worstCase: number | null;
  readonly wRobust: number | null;
  readonly getsThrough: number | null;
  readonly maxBenignFlag: number | null;
  readonly maxBenignFlagId: string | null;
}

function rowOf(m: ModelReport): HoldRow {
  const aa = m.attacks.find((a) => a.id === 'aa-fast' || a.id === 'aa');
  const benign = m.benign.reduce<ModelReport['benign'][number] | null>((b, r) => (b === null || r.flagRate > b.flagRate ? r : b), null);
  return {
    name: m.name,
    cap: m.hold?.pCleanCap ?? 1,
    omegaBound: m.hold?.omegaBound ?? null,
    clean: m.cleanAccuracy,
    attackedClean: m.attackedCleanAccuracy,
    autoAttack: aa?.accuracy ?? null,
    worstCase: m.worstCase?.accuracy ?? null,
    wRobust: m.worstCase?.wRobust ?? null,
    getsThrough: m.worstCase?.getsThrough ?? null,
    maxBenignFlag: benign?.flagRate ?? null,
    maxBenignFlagId: benign?.id ?? null,
  };
}

const FIGURES: readonly [string, (r: HoldRow) => number | null][] = [
  ['clean', (r) => r.clean],
  ['AutoAttack (fast)', (r) => r.autoAttack],
  ['worst case', (r) => r.worstCase],
  ['W-Robust (worst case)', (r) => r.wRobust],
  ['worst case gets through', (r) => r.getsThrough],
  ['benign change flagged most', (r) => r.maxBenignFlag],
];

const program = new Command()
  .description("Draw an evaluate report's router holds (evaluate --mix-cap …) as each figure against the P(clean) cap (SVG + PNG + JSON).")
  .argument('<reports...>', 'JSON reports of `awnet evaluate … --mix-cap <list> --out <report>` on the same images (their AW-Net entries are drawn together)')
  .option('--out <base>', 'path base of the .json, .svg and .png files', 'bench/reports/hold-curve')
  .parse();

const opts = program.opts<{ out: string }>();
const reports = program.args.map((file) => JSON.parse(readFileSync(file, 'utf8')) as EvaluationReport);
const report = reports[0] as EvaluationReport;
const differs = reports.find((r) => r.split !== report.split || r.attackCount !== report.attackCount || r.seed !== report.seed || r.eps !== report.eps);
if (differs !== undefined) {
  process.stderr.write(`hold-curve: the reports must cover the same images, seed and eps (${report.split}, ${report.attackCount} attacked, seed ${report.seed} vs ${differs.split}, ${differs.attackCount}, seed ${differs.seed})\n`);
  process.exit(1);
}
const rows = reports
  .flatMap((r) => r.models)
  .filter((m) => m.variant === 'awnet')
  .map(rowOf)
  .sort((a, b) => a.cap - b.cap);
if (rows.length < 2) {
  process.stderr.write(`hold-curve: ${rows.length} AW-Net entr${rows.length === 1 ? 'y' : 'ies'} in ${program.args.join(', ')}; run evaluate with --mix-cap <list> of at least two caps\n`);
  process.exit(1);
}
const bounds = [...new Set(rows.map((r) => r.omegaBound))];
const series: CurveSeries[] = bounds.flatMap((bound) =>
  FIGURES.map(([figure, value]) => ({
    name: bounds.length > 1 ? `${figure}, ω bound ${bound ?? 'none'}` : figure,
    // The chart's x axis carries the cap here.
    points: rows.filter((r) => r.omegaBound === bound && value(r) !== null).map((r) => ({ eps: r.cap, accuracy: value(r) as number })),
  })),
).filter((s) => s.points.length > 0);
const svg = renderCurveSvg(series, {
  title: `Figures vs the P(clean) cap: ${report.dataset} ${report.split.startsWith('train[validation') ? 'validation' : report.split}, attacks on ${report.attackCount}, eps ${report.eps}`,
  xLabel: 'cap c on the P(clean) MixBN mixes with, min(P(clean), c)',
  width: 900,
});
await mkdir(path.dirname(opts.out), { recursive: true });
await writeFile(`${opts.out}.json`, `${JSON.stringify({ sources: program.args, split: report.split, count: report.count, attackCount: report.attackCount, eps: report.eps, rows }, null, 2)}\n`);
await writeFile(`${opts.out}.svg`, svg);
await writeFile(`${opts.out}.png`, svgToPng(svg));
const pct = (v: number | null): string => (v === null ? '–' : (100 * v).toFixed(2).padStart(6));
process.stdout.write('hold                     clean  AA-fast  worst  W-Rob  through  benign flag (max)\n');
for (const r of rows) {
  process.stdout.write(
    `${holdLabel({ pCleanCap: r.cap, omegaBound: r.omegaBound }).padEnd(22)} ${pct(r.clean)}  ${pct(r.autoAttack)}  ${pct(r.worstCase)} ${pct(r.wRobust)}   ${pct(r.getsThrough)}  ${pct(r.maxBenignFlag)} ${r.maxBenignFlagId ?? ''}\n`,
  );
}
process.stdout.write(`wrote ${opts.out}.json, .svg and .png\n`);
