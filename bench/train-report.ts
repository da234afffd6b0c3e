import type { KernelTime } from './kernel-profile.js';
import type { ConvLayerFigures, ConvTotals } from './train-ops.js';

/** Seconds of one repeated piece of work: wall clock and this process's CPU time. */
export interface Timing {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

export interface StepFigures extends Timing {
  /** Training images consumed per step. */
  readonly images: number;
  readonly imagesPerSecond: number;
  /** images/s if the process had its core to itself (CPU time instead of wall time). */
  readonly imagesPerCpuSecond: number;
}

export interface TrainBenchReport {
  readonly started: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    /** The machine is shared: load averages tell how much the wall-clock figures suffered. */
    readonly loadAverageBefore: readonly number[];
    readonly loadAverageAfter: readonly number[];
  };
  readonly backend: { readonly name: string; readonly source: string; readonly detail: string };
  readonly model: { readonly preset: string; readonly variant: string; readonly parameters: number };
  readonly settings: {
    readonly batchSize: number;
    readonly attackSteps: number;
    readonly eps: number;
    readonly attackStepSize: number;
    readonly timedSteps: number;
    readonly epochImages: number;
  };
  /** Forward pass in inference mode. */
  readonly inference: StepFigures;
  /** Forward + backward + SGD update on a batch of clean images, no attack. */
  readonly cleanStep: StepFigures;
  /** What the trainer does per batch: PGD against the model, then a step on [clean; adversarial]. */
  readonly pgdAtStep: StepFigures & { readonly attack: Timing; readonly update: Timing };
  /** Wall-clock minutes of one PGD-AT epoch at the measured rates (the headline figure). */
  readonly projectedPgdAtEpoch: {
    readonly images: number;
    readonly singleThreadMinutes: number;
    /** The single thread's rate per CPU second: what an otherwise idle machine would give. */
    readonly singleThreadMinutesOnAnIdleCore: number;
    readonly dataParallelMinutes: number | null;
    readonly bestMinutes: number;
    readonly goalMinutes: number;
    readonly goalMet: boolean;
  };
  /**
   * The PGD-AT step spread over worker threads (bench/parallel-step.ts): every worker
   * attacks and differentiates its shard of the batch; gradients are averaged. Null when
   * skipped (--workers 0).
   */
  readonly dataParallel: {
    readonly workers: number;
    readonly step: StepFigures;
    readonly attackWallSeconds: number;
    /** Single-thread step time / data-parallel step time, both wall clock. */
    readonly speedUp: number;
    readonly projectedEpochMinutes: number;
    /**
     * An estimate for a machine with `workers` idle cores: the step's CPU time (all
     * threads) spread evenly over the workers.
     */
    readonly projectedEpochMinutesOnIdleCores: number;
  } | null;
  /** Kernel self times of one PGD-AT step, largest first. */
  readonly profile: {
    readonly wallMs: number;
    readonly cpuMs: number;
    readonly kernelMs: number;
    readonly kernelCpuMs: number;
    readonly kernels: readonly KernelTime[];
  };
  readonly convolutions: { readonly layers: readonly ConvLayerFigures[]; readonly totals: ConvTotals };
}

const f1 = (n: number) => n.toFixed(1);

/** The lines printed at the end of a run. */
export function renderTrainSummary(r: TrainBenchReport): string {
  const e = r.projectedPgdAtEpoch;
  const c = r.convolutions.totals;
  const stock = c.stockInputGradGflops === null ? '' : ` (backend's own: ${f1(c.stockInputGradGflops)})`;
  return [
    `backend ${r.backend.name} from ${r.backend.source}; ${r.machine.cpus} cpus, load ${r.machine.loadAverageBefore.map(f1).join('/')} → ${r.machine.loadAverageAfter.map(f1).join('/')}`,
    `${r.model.preset} ${r.model.variant}, ${r.model.parameters} parameters, batch ${r.settings.batchSize}, PGD-${r.settings.attackSteps} eps ${r.settings.eps}`,
    `inference      ${f1(r.inference.imagesPerSecond)} img/s`,
    `clean step     ${f1(r.cleanStep.imagesPerSecond)} img/s (${f1(r.cleanStep.imagesPerCpuSecond)} per CPU second)`,
    `PGD-AT step    ${f1(r.pgdAtStep.imagesPerSecond)} img/s (${f1(r.pgdAtStep.imagesPerCpuSecond)} per CPU second); attack ${f1(r.pgdAtStep.attack.wallSeconds)} s + update ${f1(r.pgdAtStep.update.wallSeconds)} s per batch`,
    `conv GFLOP/s   forward ${f1(c.forwardGflops)}, input gradient ${f1(c.inputGradGflops)}${stock}, filter gradient ${f1(c.filterGradGflops)}`,
    r.dataParallel === null
      ? 'data-parallel  skipped'
      : `data-parallel  ${r.dataParallel.workers} workers: ${f1(r.dataParallel.step.imagesPerSecond)} img/s, ×${r.dataParallel.speedUp.toFixed(2)} the single thread; ${r.dataParallel.step.cpuSeconds.toFixed(2)} CPU s per batch (single thread ${r.pgdAtStep.cpuSeconds.toFixed(2)}), i.e. ${f1(r.dataParallel.projectedEpochMinutesOnIdleCores)} min per epoch on ${r.dataParallel.workers} idle cores`,
    `PGD-AT epoch of ${e.images} images: single thread ${f1(e.singleThreadMinutes)} min (${f1(e.singleThreadMinutesOnAnIdleCore)} min on an idle core)` +
      (e.dataParallelMinutes === null ? '' : `, data-parallel ${f1(e.dataParallelMinutes)} min`) +
      `; goal ≤ ${e.goalMinutes} min: ${e.goalMet ? 'met' : 'not met'} (best ${f1(e.bestMinutes)} min)`,
    `CPU time by kernel in a PGD-AT step (${(r.profile.cpuMs / 1000).toFixed(2)} s): ${r.profile.kernels
      .slice(0, 6)
      .map((k) => `${k.kernel} ${(k.cpuMs / 1000).toFixed(2)} s`)
      .join(', ')}`,
  ].join('\n');
}
