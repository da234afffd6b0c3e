import type { StagePlan, BatchOutputs } from './batch-runner.js';
import { wRobustAccuracy } from './metrics.js';
import type { AttackResult, EvaluationReport, ModelReport } from './report.js';
import { rocAuc } from './roc-auc.js';

function mean(values: Float32Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Collects one model's per-image outputs over all batches, in image order. */
export class ModelOutputs {
  private readonly cleanPred: Int32Array;
  private readonly cleanScore: Float32Array;
  private readonly stagePred: Int32Array[];
  private readonly stageScore: Float32Array[];
  private readonly seconds: number[];
  private hasRouter = true;

  constructor(
    private readonly count: number,
    private readonly plan: StagePlan,
  ) {
    this.cleanPred = new Int32Array(count);
    this.cleanScore = new Float32Array(count);
    this.stagePred = plan.stages.map(() => new Int32Array(count));
    this.stageScore = plan.stages.map(() => new Float32Array(count));
    this.seconds = plan.stages.map(() => 0);
  }

  /** Stores the outputs of the batch that starts at image `start`. */
  add(start: number, outputs: BatchOutputs): void {
    this.cleanPred.set(outputs.clean.predicted, start);
    if (outputs.clean.score === null) this.hasRouter = false;
    else this.cleanScore.set(outputs.clean.score, start);
    outputs.stages.forEach((p, i) => {
      this.stagePred[i]?.set(p.predicted, start);
      if (p.score !== null) this.stageScore[i]?.set(p.score, start);
      this.seconds[i] = (this.seconds[i] ?? 0) + (outputs.seconds[i] ?? 0);
    });
  }

  /** The model's figures: accuracies, W-Robust Acc, router AUC per attack, the curve. */
  summarise(
    labels: Int32Array,
    model: { name: string; checkpoint: string; preset: string; variant: string },
    curveEps: readonly number[],
    seconds: number,
  ): ModelReport {
    const correct = (pred: Int32Array, i: number): boolean => pred[i] === labels[i];
    let cleanCorrect = 0;
    for (let i = 0; i < this.count; i++) if (correct(this.cleanPred, i)) cleanCorrect++;
    const aNat = cleanCorrect / this.count;
    const results: AttackResult[] = this.plan.stages.map((spec, s) => {
      const pred = this.stagePred[s] as Int32Array;
      let advCorrect = 0;
      let flipped = 0;
      for (let i = 0; i < this.count; i++) {
        if (correct(pred, i)) advCorrect++;
        else if (correct(this.cleanPred, i)) flipped++;
      }
      const aAdv = advCorrect / this.count;
      const scores = this.stageScore[s] as Float32Array;
      return {
        id: spec.id,
        label: spec.label,
        params: spec.params,
        accuracy: aAdv,
        wRobust: wRobustAccuracy(aNat, aAdv),
        auc: this.hasRouter ? rocAuc(this.cleanScore, scores) : null,
        meanAdversarialScore: this.hasRouter ? mean(scores) : null,
        successRate: cleanCorrect === 0 ? 0 : flipped / cleanCorrect,
        seconds: this.seconds[s] ?? 0,
      };
    });
    const attacks = results.slice(0, this.plan.attacks.length);
    const curveResults = results.slice(this.plan.attacks.length);
    const curve = [...new Set(curveEps)]
      .map((eps) => ({
        eps,
        accuracy: eps === 0 ? aNat : (curveResults[this.plan.curvePoints.indexOf(eps)]?.accuracy ?? NaN),
      }))
      .sort((p, q) => p.eps - q.eps);
    return {
      ...model,
      cleanAccuracy: aNat,
      meanCleanAdversarialScore: this.hasRouter ? mean(this.cleanScore) : null,
      attacks,
      curve,
      seconds,
    };
  }
}

export interface ReportContext {
  readonly dataset: string;
  readonly split: string;
  readonly count: number;
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
    eps: ctx.eps,
    seed: ctx.seed,
    batchSize: ctx.batchSize,
    backend: ctx.backend,
    curveAttack: ctx.plan.curvePoints.length > 0 ? `PGD-${ctx.curveSteps} ε/4` : null,
    models,
    createdAt: new Date().toISOString(),
    seconds,
  };
}
