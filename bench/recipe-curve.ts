import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { svgToPng } from '../src/eval/render-png.js';
import { renderCurveSvg, type CurveSeries } from '../src/eval/robustness-curve.js';
import { repoRoot } from '../src/server/repo-root.js';

/**
 * Robust accuracy against wall-clock minutes, one line per training run: the recipe
 * comparison. Each point is one epoch-end validation of a run (`log.jsonl`): the per-image worst
 * case over PGD, the adaptive attacks and (runs that had it) the Square Attack on the run's
 * attacked validation images, at the
 * minutes of training and validation spent so far. Runs of different recipes (attack, steps,
 * variant, budget) side by side show which buys the most robustness per minute of this machine.
 */

interface RunPoint {
  readonly epoch: number;
  readonly minutes: number;
  readonly valCleanAcc: number | null;
  readonly valPgdAcc: number | null;
  readonly valWorstAcc: number | null;
  readonly valWRobust: number | null;
  readonly catastrophicOverfitting: boolean;
  readonly imagesPerSecond: number;
  /** An epoch of the run this one started from (--init-from), not of this run. */
  readonly fromSource?: boolean;
}

interface RunCurve {
  readonly run: string;
  readonly name: string;
  readonly settings: Record<string, unknown> | null;
  /** A run started with --init-from: the run and epoch it started from, and that run's minutes up to there. */
  readonly startedFrom: { readonly run: string; readonly epoch: number; readonly minutes: number } | null;
  readonly points: readonly RunPoint[];
}

/**
 * Where a run started with `--init-from <run>/checkpoints/<name>` begins: that run's epochs up
 * to the checkpoint's, whose minutes count towards this run's (the budget of a two-phase recipe
 * is both phases). Null, with a note, when the source run's log is not there to read.
 */
function sourceOf(initFrom: string): { run: string; epoch: number; points: RunPoint[] } | null {
  // Relative to where the script runs, as the run directories it is given usually are.
  const run = path.relative(process.cwd(), path.dirname(path.dirname(initFrom)));
  try {
    const { epoch } = JSON.parse(readFileSync(path.join(initFrom, 'checkpoint.json'), 'utf8')) as { epoch: number };
    return { run, epoch, points: readRun(run, undefined).points.filter((p) => p.epoch <= epoch) };
  } catch (err) {
    process.stderr.write(`note: ${initFrom} or its run's log cannot be read (${(err as Error).message}); its minutes are not counted\n`);
    return null;
  }
}

function readRun(dir: string, label: string | undefined): RunCurve {
  let settings: Record<string, unknown> | null = null;
  try {
    settings = (JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { settings: Record<string, unknown> }).settings;
  } catch {
    // A run still going or stopped early has no summary; its log is enough for the curve.
  }
  const source = typeof settings?.initFrom === 'string' ? sourceOf(settings.initFrom) : null;
  const prefix = source?.points ?? [];
  const sourceMinutes = prefix.at(-1)?.minutes ?? 0;
  const lines = readFileSync(path.join(dir, 'log.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  let minutes = sourceMinutes;
  const own = lines.map((line) => {
    const r = JSON.parse(line) as Record<string, unknown>;
    minutes += ((r.trainSeconds as number) + (r.valSeconds as number)) / 60;
    const num = (k: string): number | null => (typeof r[k] === 'number' ? (r[k] as number) : null);
    return {
      epoch: r.epoch as number,
      minutes,
      valCleanAcc: num('valCleanAcc'),
      valPgdAcc: num('valPgdAcc'),
      valWorstAcc: num('valWorstAcc'),
      valWRobust: num('valWRobust'),
      catastrophicOverfitting: r.catastrophicOverfitting === true,
      imagesPerSecond: r.imagesPerSecond as number,
    };
  });
  const name =
    label ??
    (settings === null
      ? path.basename(dir)
      : `${String(settings.variant)} ${settings.attack === 'pgd' ? `PGD-${String(settings.attackSteps)}` : String(settings.attack ?? 'pgd')}`);
  const startedFrom = source === null ? null : { run: source.run, epoch: source.epoch, minutes: sourceMinutes };
  // The source run's epochs come first, renumbered as this run's, so the line shows both phases.
  return { run: dir, name, settings, startedFrom, points: [...prefix.map((p) => ({ ...p, fromSource: true })), ...own.map((p) => ({ ...p, epoch: p.epoch + (source?.epoch ?? 0) }))] };
}

const program = new Command()
  .description('Draw validation worst-case robust accuracy against wall-clock minutes for training runs (SVG + PNG + JSON).')
  .argument('<runs...>', 'run directories (as written by `train`)')
  .option('--labels <list>', 'comma-separated legend names, one per run (default: variant and training attack)')
  .option('--out <base>', 'path base of the .json, .svg and .png files', path.join(repoRoot(), 'bench/reports/recipes'))
  .parse();

const opts = program.opts<{ labels?: string; out: string }>();
const labels = opts.labels?.split(',');
const runs = program.args.map((dir, i) => readRun(dir, labels?.[i]));
const series: CurveSeries[] = runs.map((r) => ({
  name: r.name,
  // The chart's x axis carries minutes here.
  points: r.points.filter((p) => p.valWorstAcc !== null).map((p) => ({ eps: p.minutes, accuracy: p.valWorstAcc! })),
}));
const svg = renderCurveSvg(
  series.filter((s) => s.points.length > 0),
  {
    title: 'Validation worst case (PGD, adaptive attacks, Square where run) vs wall-clock minutes',
    xLabel: 'minutes of training and validation',
    width: 900,
  },
);
await mkdir(path.dirname(opts.out), { recursive: true });
await writeFile(`${opts.out}.json`, `${JSON.stringify({ createdAt: new Date().toISOString(), runs }, null, 2)}\n`);
await writeFile(`${opts.out}.svg`, svg);
await writeFile(`${opts.out}.png`, svgToPng(svg));
for (const r of runs) {
  const last = r.points.at(-1);
  const best = r.points.filter((p) => p.fromSource !== true).reduce<RunPoint | null>((b, p) => (p.valWRobust !== null && (b === null || p.valWRobust > (b.valWRobust ?? -1)) ? p : b), null);
  process.stdout.write(
    `${r.name.padEnd(28)} ${r.points.length} epochs${r.startedFrom ? ` (the first ${r.startedFrom.epoch} of ${r.startedFrom.run})` : ''}, ${last?.minutes.toFixed(1) ?? '–'} min; best W-Robust epoch ${best?.epoch ?? '–'}: ` +
      `clean ${pct(best?.valCleanAcc)} worst ${pct(best?.valWorstAcc)}${r.points.some((p) => p.catastrophicOverfitting) ? ' [catastrophic overfitting]' : ''}\n`,
  );
}
process.stdout.write(`wrote ${opts.out}.json, .svg and .png\n`);

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)} %`;
}
