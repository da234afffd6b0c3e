import type { StagePlan, BatchOutputs } from './batch-runner.js';
import { EvalError } from './errors.js';
import { flagRate, getsThrough, worstCase, type Pass } from './flagging.js';
import { wRobustAccuracy } from './metrics.js';
import type { AttackResult, BenignResult, EvaluationReport, ModelReport, PartResult, ThresholdReport, WorstCaseResult } from './report.js';
import { rocAuc } from './roc-auc.js';
import type { RouterHold } from '../model/types.js';

function mean(values: Float32Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

function accuracyOf(predicted: Int32Array, labels: Int32Array, count: number): number {
  let correct = 0;
  for (let i = 0; i < count; i++) if (predicted[i] === labels[i]) correct++;
  return count === 0 ? 0 : correct / count;
}

/** Which model a summary describes, as the report names it. */
export interface ModelIdentity {
  readonly name: string;
  readonly checkpoint: string;
  readonly preset: string;
  readonly variant: string;
  readonly hold: RouterHold;
}

export interface SummaryOptions {
  readonly curveEps: readonly number[];
  readonly threshold: ThresholdReport;
  /** Attack ids the worst case spans; default every attack of the plan. */
  readonly worstCase?: readonly string[];
  readonly seconds: number;
}

/**
 * Collects one model's per-image outputs over all batches, in image order: clean and
 * benign passes over all `count` images, attack stages over the first `attackCount`.
 */
export class ModelOutputs {
  private readonly clean: { predicted: Int32Array; score: Float32Array };
  private readonly benign: { predicted: Int32Array; score: Float32Array }[];
  private readonly stages: { predicted: Int32Array; score: Float32Array }[];
  private readonly seconds: number[];
  /** Per stage, its parts' counts summed over batches (null: a stage without parts). */
  private readonly parts: ({ id: string; label: string; attacked: number; robust: number; seconds: number; queries: number | null }[] | null)[];
  private hasRouter = true;

  constructor(
    private readonly count: number,
    private readonly attackCount: number,
    private readonly plan: StagePlan,
  ) {
    const pass = (n: number): { predicted: Int32Array; score: Float32Array } => ({ predicted: new Int32Array(n), score: new Float32Array(n) });
    this.clean = pass(count);
    this.benign = plan.benign.map(() => pass(count));
    this.stages = plan.stages.map(() => pass(attackCount));
    this.seconds = plan.stages.map(() => 0);
    this.parts = plan.stages.map(() => null);
  }

  /** Stores the outputs of the batch that starts at image `start`. */
  add(start: number, outputs: BatchOutputs): void {
    this.clean.predicted.set(outputs.clean.predicted, start);
    if (outputs.clean.score === null) this.hasRouter = false;
    else this.clean.score.set(outputs.clean.score, start);
    const store = (into: { predicted: Int32Array; score: Float32Array } | undefined, p: BatchOutputs['clean']): void => {
      into?.predicted.set(p.predicted, start);
      if (p.score !== null) into?.score.set(p.score, start);
    };
    outputs.benign.forEach((p, i) => store(this.benign[i], p));
    outputs.stages.forEach((p, i) => {
      store(this.stages[i], p);
      this.seconds[i] = (this.seconds[i] ?? 0) + (outputs.seconds[i] ?? 0);
    });
    outputs.parts?.forEach((batchParts, i) => {
      if (batchParts == null) return;
      const totals = (this.parts[i] ??= batchParts.map((p) => ({ ...p, attacked: 0, robust: 0, seconds: 0, queries: p.queries === null ? null : 0 })));
      batchParts.forEach((p, j) => {
        const t = totals[j];
        if (t === undefined) return;
        t.attacked += p.attacked;
        t.robust += p.robust;
        t.seconds += p.seconds;
        if (p.queries !== null) t.queries = (t.queries ?? 0) + p.queries;
      });
    });
  }

  /** The parts of stage s over the first `n` images, or nothing for a stage without parts. */
  private partsOf(s: number, n: number): { parts?: PartResult[] } {
    const totals = this.parts[s];
    if (totals == null) return {};
    return { parts: totals.map(({ robust, ...t }) => ({ ...t, accuracy: n === 0 ? 0 : robust / n })) };
  }

  private pass(p: { predicted: Int32Array; score: Float32Array }): Pass {
    return { predicted: p.predicted, score: this.hasRouter ? p.score : null };
  }

  /** The model's figures: accuracies, flag rates, W-Robust Acc, router AUC per attack, worst case, the curve. */
  summarise(labels: Int32Array, model: ModelIdentity, options: SummaryOptions): ModelReport {
    const t = options.threshold.value;
    const n = this.attackCount;
    const clean = this.pass(this.clean);
    const aNat = accuracyOf(clean.predicted, labels, n);
    let cleanCorrect = 0;
    for (let i = 0; i < n; i++) if (clean.predicted[i] === labels[i]) cleanCorrect++;
    const results: AttackResult[] = this.plan.stages.map((spec, s) => {
      const pass = this.pass(this.stages[s]!);
      let flipped = 0;
      for (let i = 0; i < n; i++) if (pass.predicted[i] !== labels[i] && clean.predicted[i] === labels[i]) flipped++;
      const aAdv = accuracyOf(pass.predicted, labels, n);
      return {
        id: spec.id,
        label: spec.label,
        params: spec.params,
        accuracy: aAdv,
        wRobust: wRobustAccuracy(aNat, aAdv),
        auc: this.hasRouter ? rocAuc(this.clean.score.subarray(0, n), this.stages[s]!.score) : null,
        meanAdversarialScore: this.hasRouter ? mean(this.stages[s]!.score) : null,
        successRate: cleanCorrect === 0 ? 0 : flipped / cleanCorrect,
        flagRate: flagRate(pass, t, n),
        getsThrough: getsThrough(pass, labels, t, n),
        seconds: this.seconds[s] ?? 0,
        ...this.partsOf(s, n),
      };
    });
    const attacks = results.slice(0, this.plan.attacks.length);
    const curveResults = results.slice(this.plan.attacks.length);
    const curve = [...new Set(options.curveEps)]
      .map((eps) => ({
        eps,
        accuracy: eps === 0 ? aNat : (curveResults[this.plan.curvePoints.indexOf(eps)]?.accuracy ?? NaN),
      }))
      .sort((p, q) => p.eps - q.eps);
    const benign: BenignResult[] = this.plan.benign.map((setting, b) => {
      const pass = this.pass(this.benign[b]!);
      return {
        id: setting.id,
        label: setting.label,
        corruption: setting.corruption,
        accuracy: accuracyOf(pass.predicted, labels, this.count),
        flagRate: flagRate(pass, t, this.count),
        meanAdversarialScore: this.hasRouter ? mean(this.benign[b]!.score) : null,
      };
    });
    return {
      ...model,
      cleanAccuracy: accuracyOf(clean.predicted, labels, this.count),
      cleanFlagRate: flagRate(clean, t, this.count),
      attackedCleanAccuracy: aNat,
      meanCleanAdversarialScore: this.hasRouter ? mean(this.clean.score) : null,
      threshold: options.threshold,
      benign,
      attacks,
      worstCase: this.worstCase(labels, aNat, t, options.worstCase),
      curve,
      seconds: options.seconds,
    };
  }

  private worstCase(labels: Int32Array, aNat: number, threshold: number, ids: readonly string[] | undefined): WorstCaseResult | null {
    const spanned = ids ?? this.plan.attacks.map((a) => a.id);
    const missing = spanned.filter((id) => !this.plan.attacks.some((a) => a.id === id));
    if (missing.length > 0) {
      throw new EvalError('EVAL_BAD_OPTION', `the worst case spans ${missing.join(', ')}, which did not run; attacks run: ${this.plan.attacks.map((a) => a.id).join(', ')}`);
    }
    if (spanned.length === 0) return null;
    const passes = this.plan.attacks.flatMap((a, s) => (spanned.includes(a.id) ? [this.pass(this.stages[s]!)] : []));
    const w = worstCase(passes, labels, threshold, this.attackCount);
    return { attacks: [...spanned], accuracy: w.accuracy, getsThrough: w.getsThrough, wRobust: wRobustAccuracy(aNat, w.accuracy) };
  }
}

export interface ReportContext {
  readonly dataset: string;
  readonly split: string;
  readonly count: number;
  readonly attackCount: number;
  readonly eps: number;
  readonly seed: number;
  readonly batchSize: number;
  readonly backend: string;
  readonly curveSteps: number;
  readonly plan: StagePlan;
}

export function assembleReport(ctx: ReportContext, models: readonly ModelReport[], seconds: number): EvaluationReport {
  return {
    dataset: ctx.dataset,
    split: ctx.split,
    count: ctx.count,
    attackCount: ctx.attackCount,
    eps: ctx.eps,
    seed: ctx.seed,
    batchSize: ctx.batchSize,
    backend: ctx.backend,
    curveAttack: ctx.plan.curvePoints.length > 0 && ctx.attackCount > 0 ? `PGD-${ctx.curveSteps} ε/4` : null,
    models,
    createdAt: new Date().toISOString(),
    seconds,
  };
}
