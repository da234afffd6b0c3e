import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { curveAttack, type AttackSpec } from './attack-suite.js';
import { EvalError } from './errors.js';
import { wRobustAccuracy } from './metrics.js';
import type { AttackResult, EvaluationReport, ModelReport } from './report.js';
import { rocAuc } from './roc-auc.js';

/** A test set as the data module loads it: NHWC pixels in [0, 1], integer labels. */
export interface EvalDataset {
  readonly name: string;
  readonly split: string;
  readonly shape: { readonly height: number; readonly width: number; readonly channels: number };
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly labelNames: readonly string[];
}

export interface EvalModel {
  readonly name: string;
  readonly checkpoint: string;
  readonly model: Model;
}

export interface ProgressEvent {
  readonly done: number;
  readonly total: number;
  readonly model: string;
  readonly stage: string;
}

export interface EvaluateOptions {
  readonly eps: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly attacks: readonly AttackSpec[];
  /** Eps values of the robustness curve; empty for none. */
  readonly curveEps: readonly number[];
  readonly curveSteps: number;
  /** Name of the tfjs backend in use, for the report. */
  readonly backend: string;
  readonly onProgress?: (event: ProgressEvent) => void;
}

interface Prediction {
  readonly predicted: Int32Array;
  /** 1 − P(clean) per row, or null for a model without a router. */
  readonly score: Float32Array | null;
}

function predict(model: Model, x: tf.Tensor4D): Prediction {
  const [pred, score] = tf.tidy(() => {
    const out = model.forward(x, { training: false });
    const s = out.pClean === null ? null : tf.sub(1, out.pClean);
    return [tf.argMax(out.logits, 1), s] as const;
  });
  // Read outside tidy: tidy walks returned typed arrays element by element.
  const predicted = Int32Array.from(pred.dataSync());
  const adv = score === null ? null : Float32Array.from(score.dataSync());
  pred.dispose();
  score?.dispose();
  return { predicted, score: adv };
}

function checkCompatible(entry: EvalModel, data: EvalDataset): void {
  const { input, numClasses } = entry.model.config;
  const { height, width, channels } = data.shape;
  if (input.height !== height || input.width !== width || input.channels !== channels) {
    throw new EvalError(
      'EVAL_MODEL_MISMATCH',
      `${entry.checkpoint} expects ${input.height}×${input.width}×${input.channels} images but ${data.name} has ${height}×${width}×${channels}`,
    );
  }
  if (numClasses !== data.labelNames.length) {
    throw new EvalError(
      'EVAL_MODEL_MISMATCH',
      `${entry.checkpoint} has ${numClasses} classes but ${data.name} has ${data.labelNames.length}`,
    );
  }
}

function checkOptions(options: EvaluateOptions, data: EvalDataset): void {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new EvalError('EVAL_BAD_OPTION', `batch size must be an integer >= 1; got ${options.batchSize}`);
  }
  if (!Number.isFinite(options.eps) || options.eps <= 0 || options.eps > 1) {
    throw new EvalError('EVAL_BAD_OPTION', `eps must be in (0, 1]; got ${options.eps}`);
  }
  for (const e of options.curveEps) {
    if (!Number.isFinite(e) || e < 0 || e > 1) {
      throw new EvalError('EVAL_BAD_OPTION', `curve eps values must be in [0, 1]; got ${e}`);
    }
  }
  if (options.curveEps.length > 0 && (!Number.isInteger(options.curveSteps) || options.curveSteps < 1)) {
    throw new EvalError('EVAL_BAD_OPTION', `curve steps must be an integer >= 1; got ${options.curveSteps}`);
  }
  if (data.count < 1) throw new EvalError('EVAL_BAD_INPUT', `${data.name} ${data.split} holds no images`);
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function mean(values: Float32Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * Runs the clean pass, every attack and the robustness curve for each model on the same
 * images with the same random starts, so models are compared side by side.
 */
export async function evaluateModels(
  models: readonly EvalModel[],
  data: EvalDataset,
  options: EvaluateOptions,
): Promise<EvaluationReport> {
  checkOptions(options, data);
  for (const m of models) checkCompatible(m, data);
  const started = performance.now();
  const { height, width, channels } = data.shape;
  const perImage = height * width * channels;
  const batches = Math.ceil(data.count / options.batchSize);
  const curvePoints = options.curveEps.filter((e) => e > 0);
  const curveSpecs = curvePoints.map((e) => curveAttack(e, options.curveSteps));
  // Progress counts forward/backward passes, so PGD-20 weighs twenty times FGSM.
  const cost = (spec: AttackSpec): number => spec.params.steps + 1;
  const perBatch = 1 + [...options.attacks, ...curveSpecs].reduce((sum, spec) => sum + cost(spec), 0);
  const total = models.length * batches * perBatch;
  let done = 0;
  const progress = (model: string, stage: string, units = 0): void => {
    done += units;
    options.onProgress?.({ done, total, model, stage });
  };

  const reports: ModelReport[] = [];
  for (const entry of models) {
    const modelStart = performance.now();
    const cleanPred = new Int32Array(data.count);
    const cleanScore = new Float32Array(data.count);
    let hasRouter = true;
    const all = [...options.attacks, ...curveSpecs];
    const advPred = all.map(() => new Int32Array(data.count));
    const advScore = all.map(() => new Float32Array(data.count));
    const seconds = all.map(() => 0);

    for (let b = 0; b < batches; b++) {
      const start = b * options.batchSize;
      const end = Math.min(data.count, start + options.batchSize);
      const x = tf.tensor4d(data.images.subarray(start * perImage, end * perImage), [end - start, height, width, channels]);
      const y = tf.tensor1d(data.labels.subarray(start, end), 'int32');
      try {
        progress(entry.name, `clean, batch ${b + 1}/${batches}`);
        const clean = predict(entry.model, x);
        cleanPred.set(clean.predicted, start);
        if (clean.score === null) hasRouter = false;
        else cleanScore.set(clean.score, start);
        progress(entry.name, `clean, batch ${b + 1}/${batches}`, 1);
        for (let a = 0; a < all.length; a++) {
          const spec = all[a] as AttackSpec;
          const stage = `${spec.label}, batch ${b + 1}/${batches}`;
          progress(entry.name, stage);
          const t0 = performance.now();
          const xAdv = spec.run(entry.model, x, y, `${options.seed}/${spec.id}/${spec.params.eps}/${b}`);
          const r = predict(entry.model, xAdv);
          xAdv.dispose();
          seconds[a] = (seconds[a] ?? 0) + (performance.now() - t0) / 1000;
          advPred[a]?.set(r.predicted, start);
          if (r.score !== null) advScore[a]?.set(r.score, start);
          progress(entry.name, stage, cost(spec));
          await yieldToEventLoop();
        }
      } finally {
        x.dispose();
        y.dispose();
      }
    }

    const correct = (pred: Int32Array, i: number): boolean => pred[i] === data.labels[i];
    let cleanCorrect = 0;
    for (let i = 0; i < data.count; i++) if (correct(cleanPred, i)) cleanCorrect++;
    const aNat = cleanCorrect / data.count;
    const resultOf = (a: number): AttackResult => {
      const spec = all[a] as AttackSpec;
      const pred = advPred[a] as Int32Array;
      let advCorrect = 0;
      let flipped = 0;
      for (let i = 0; i < data.count; i++) {
        if (correct(pred, i)) advCorrect++;
        else if (correct(cleanPred, i)) flipped++;
      }
      const aAdv = advCorrect / data.count;
      const scores = advScore[a] as Float32Array;
      return {
        id: spec.id,
        label: spec.label,
        params: spec.params,
        accuracy: aAdv,
        wRobust: wRobustAccuracy(aNat, aAdv),
        auc: hasRouter ? rocAuc(cleanScore, scores) : null,
        meanAdversarialScore: hasRouter ? mean(scores) : null,
        successRate: cleanCorrect === 0 ? 0 : flipped / cleanCorrect,
        seconds: seconds[a] ?? 0,
      };
    };
    const attackResults = options.attacks.map((_, a) => resultOf(a));
    const curveResults = curveSpecs.map((_, c) => resultOf(options.attacks.length + c));
    const curve = options.curveEps
      .map((eps) => ({ eps, accuracy: eps === 0 ? aNat : (curveResults[curvePoints.indexOf(eps)]?.accuracy ?? NaN) }))
      .sort((p, q) => p.eps - q.eps);
    reports.push({
      name: entry.name,
      checkpoint: entry.checkpoint,
      preset: entry.model.config.preset,
      variant: entry.model.config.variant,
      cleanAccuracy: aNat,
      meanCleanAdversarialScore: hasRouter ? mean(cleanScore) : null,
      attacks: attackResults,
      curve,
      seconds: (performance.now() - modelStart) / 1000,
    });
  }

  return {
    dataset: data.name,
    split: data.split,
    count: data.count,
    eps: options.eps,
    seed: options.seed,
    batchSize: options.batchSize,
    backend: options.backend,
    curveAttack: curveSpecs.length > 0 ? `PGD-${options.curveSteps} ε/4` : null,
    models: reports,
    createdAt: new Date().toISOString(),
    seconds: (performance.now() - started) / 1000,
  };
}
