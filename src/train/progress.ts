import { Presets, SingleBar } from 'cli-progress';
import type { EpochRecord, StepProgress, TrainerHooks } from './trainer.js';

/** 1h02m, 4m05s or 12s (validation time not included). */
function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);

/** The validation images the Square Attack broke that every gradient attack had left robust. */
function squareNote(broken: number, of: number): string {
  return `Square broke ${broken} more of ${of}`;
}

/** The time budget and, once the run has timed enough steps to plan, the seconds it planned. */
export function budgetNote(minutes: number, firstPlanSeconds: number | null): string {
  const budget = `budget ${(minutes * 60).toFixed(0)} s`;
  return firstPlanSeconds === null ? `${budget}, ended before its first plan` : `${budget}, first plan ${firstPlanSeconds.toFixed(0)} s`;
}

/** One line per epoch for the terminal and CI logs. */
export function formatEpoch(r: EpochRecord): string {
  const router = r.trainRouterAcc === null ? '' : ` router ${pct(r.trainRouterAcc)}`;
  const val =
    r.valCleanAcc === null
      ? 'no validation'
      : `val clean ${pct(r.valCleanAcc)} fgsm ${pct(r.valFgsmAcc ?? null)} pgd ${pct(r.valPgdAcc)} worst ${pct(r.valWorstAcc ?? null)}${typeof r.valSquareFooled === 'number' ? ` (${squareNote(r.valSquareFooled, r.valPgdSize)})` : ''} W-Robust ${pct(r.valWRobust ?? null)}` +
        `${r.valRouterAcc === null ? '' : ` router ${pct(r.valRouterAcc)}`}${r.best ? ' [best]' : ''}${r.catastrophicOverfitting ? ' [CATASTROPHIC OVERFITTING]' : ''}${r.robustnessCollapse ? ' [ROBUSTNESS COLLAPSE]' : ''}`;
  return (
    `epoch ${r.epoch}/${r.epochs}: loss ${r.trainLoss.toFixed(4)} (type ${r.trainLossType.toFixed(3)}, nat ${r.trainLossNat.toFixed(3)}, adv ${r.trainLossAdv.toFixed(3)}) ` +
    `train clean ${pct(r.trainCleanAcc)} adv ${pct(r.trainAdvAcc)}${router} | ${val} | lr ${r.lr.toPrecision(3)} α ${r.alphaNat.toFixed(3)}/${r.alphaAdv.toFixed(3)} | ` +
    `${r.imagesPerSecond.toFixed(1)} img/s, ${(r.trainSeconds + r.valSeconds).toFixed(0)} s` +
    (r.budgetLeftSeconds === null || r.budgetLeftSeconds === undefined ? '' : ` | budget left ${duration(r.budgetLeftSeconds)}`)
  );
}

/**
 * A progress bar per epoch (loss, accuracy, images/s, ETA) on stderr. Where stderr is not
 * a terminal (CI, redirected logs) cli-progress prints a plain line every `plainEveryMs`.
 */
export function progressHooks(options: {
  log: (line: string) => void;
  plainEveryMs?: number;
  /** Where the bar is drawn; stderr by default. */
  stream?: NodeJS.WritableStream;
}): TrainerHooks & { stop(): void } {
  let bar: SingleBar | null = null;
  let epochInfo: { epoch: number; epochs: number; steps: number } | null = null;
  let last: { step: number; payload: Record<string, string> } | null = null;
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  const open = (info: { epoch: number; epochs: number; steps: number }, value: number, payload: Record<string, string>): void => {
    bar = new SingleBar(
      {
        format: `epoch ${info.epoch}/${info.epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | lr {lr} | epoch ETA {eta_formatted}, {runEta}`,
        noTTYOutput: true,
        notTTYSchedule: options.plainEveryMs ?? 10_000,
        etaBuffer: 20,
        hideCursor: false,
        ...(options.stream ? { stream: options.stream } : {}),
      },
      Presets.shades_classic,
    );
    bar.start(info.steps, value, payload);
  };
  return {
    // A line logged in mid-epoch (a time-budget plan, say) goes above the bar, which then
    // carries on where it was.
    log: (line) => {
      const resume = bar !== null && epochInfo !== null;
      stop();
      options.log(line);
      if (resume) open(epochInfo!, last?.step ?? 0, last?.payload ?? { loss: '–', acc: '–', ips: '–', lr: '–', runEta: '–' });
    },
    onEpochStart: ({ epoch, epochs, steps, startStep }) => {
      stop();
      epochInfo = { epoch, epochs, steps };
      last = null;
      open(epochInfo, startStep, { loss: '–', acc: '–', ips: '–', lr: '–', runEta: '–' });
    },
    onStep: (p: StepProgress) => {
      // A time-budget plan can change where the epoch ends.
      if (bar !== null && bar.getTotal() !== p.steps) bar.setTotal(p.steps);
      if (epochInfo !== null) epochInfo = { ...epochInfo, epochs: p.epochs, steps: p.steps };
      const payload = {
        loss: p.epochLoss.toFixed(4),
        acc: pct(p.epochAcc),
        ips: p.imagesPerSecond.toFixed(1),
        lr: p.lr.toPrecision(3),
        runEta:
          p.budgetLeftSeconds === null
            ? `run ETA ${duration((p.totalSteps - p.globalStep) * p.stepSeconds)}`
            : `budget left ${duration(p.budgetLeftSeconds)} (step ${p.globalStep}/${p.totalSteps})`,
      };
      last = { step: p.step, payload };
      bar?.update(p.step, payload);
    },
    onEpochEnd: (record) => {
      stop();
      epochInfo = null;
      options.log(formatEpoch(record));
    },
    stop,
  };
}
