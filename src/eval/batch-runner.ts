import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { curveAttack, type AttackSpec } from './attack-suite.js';

/** What the model says about a batch: its predicted classes and the router's score. */
export interface Prediction {
  readonly predicted: Int32Array;
  /** 1 − P(clean) per row, or null for a model without a router. */
  readonly score: Float32Array | null;
}

/** The raw outputs of one batch: the clean pass, then one prediction per stage. */
export interface BatchOutputs {
  readonly clean: Prediction;
  readonly stages: readonly Prediction[];
  /** Wall-clock seconds spent in each stage (attack and prediction). */
  readonly seconds: readonly number[];
}

/** The attacks of the table followed by the attacked points of the robustness curve. */
export interface StagePlan {
  readonly attacks: readonly AttackSpec[];
  /** Curve eps values above 0, one curve stage each, in this order. */
  readonly curvePoints: readonly number[];
  readonly stages: readonly AttackSpec[];
}

export function planStages(attacks: readonly AttackSpec[], curveEps: readonly number[], curveSteps: number): StagePlan {
  const curvePoints = [...new Set(curveEps.filter((e) => e > 0))];
  return { attacks, curvePoints, stages: [...attacks, ...curvePoints.map((e) => curveAttack(e, curveSteps))] };
}

/** Forward/backward passes a stage costs, the unit of progress: PGD-20 weighs twenty times FGSM. */
export function stageCost(spec: AttackSpec): number {
  return spec.params.steps + 1;
}

/** Rows [start, end) of batch b. */
export function batchRange(count: number, batchSize: number, b: number): { start: number; end: number } {
  const start = b * batchSize;
  return { start, end: Math.min(count, start + batchSize) };
}

/**
 * The random-start seed of one stage on one batch. It depends on the batch index, not on
 * which model, process or worker runs it, so every model meets the same starts and the
 * figures do not depend on how the work was split.
 */
export function stageSeed(seed: number, spec: AttackSpec, batch: number): string {
  return `${seed}/${spec.id}/${spec.params.eps}/${batch}`;
}

export function predict(model: Model, x: tf.Tensor4D): Prediction {
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

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface BatchInput {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly shape: { readonly height: number; readonly width: number; readonly channels: number };
}

/**
 * Runs the clean pass and every stage on one batch. `onStage(i, done)` is called before
 * (done = false) and after (done = true) stage i; i = −1 is the clean pass. The event loop
 * gets a turn after each stage so progress can be drawn.
 */
export async function runBatch(
  model: Model,
  input: BatchInput,
  plan: StagePlan,
  seed: number,
  batch: number,
  onStage?: (stage: number, done: boolean) => void,
): Promise<BatchOutputs> {
  const { height, width, channels } = input.shape;
  const n = input.labels.length;
  const x = tf.tensor4d(input.images, [n, height, width, channels]);
  const y = tf.tensor1d(input.labels, 'int32');
  try {
    onStage?.(-1, false);
    const clean = predict(model, x);
    onStage?.(-1, true);
    const stages: Prediction[] = [];
    const seconds: number[] = [];
    for (const [i, spec] of plan.stages.entries()) {
      onStage?.(i, false);
      const t0 = performance.now();
      const xAdv = spec.run(model, x, y, stageSeed(seed, spec, batch));
      try {
        stages.push(predict(model, xAdv));
      } finally {
        xAdv.dispose();
      }
      seconds.push((performance.now() - t0) / 1000);
      onStage?.(i, true);
      await yieldToEventLoop();
    }
    return { clean, stages, seconds };
  } finally {
    x.dispose();
    y.dispose();
  }
}
