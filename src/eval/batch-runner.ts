import * as tf from '@tensorflow/tfjs';
import type { PartStats } from '../attacks/autoattack.js';
import type { Model } from '../model/types.js';
import { curveAttack, type AttackSpec } from './attack-suite.js';
import { corruptRows, type BenignSetting } from './benign.js';

/** What the model says about a batch: its predicted classes and the router's score. */
export interface Prediction {
  readonly predicted: Int32Array;
  /** 1 − P(clean) per row, or null for a model without a router. */
  readonly score: Float32Array | null;
}

/**
 * The raw outputs of one batch: the clean pass and one prediction per benign setting over
 * all its rows, then one prediction per attack stage over its attacked rows.
 */
export interface BatchOutputs {
  readonly clean: Prediction;
  readonly benign: readonly Prediction[];
  /** Empty when none of the batch's rows is attacked. */
  readonly stages: readonly Prediction[];
  /** Wall-clock seconds spent in each stage (attack and prediction); empty with `stages`. */
  readonly seconds: readonly number[];
  /** Per stage, what its parts did (AutoAttack's cascade, a query attack), else null; empty with `stages`. */
  readonly parts?: readonly (readonly PartStats[] | null)[];
}

/** The benign settings, then the attacks of the table followed by the attacked points of the robustness curve. */
export interface StagePlan {
  readonly benign: readonly BenignSetting[];
  readonly attacks: readonly AttackSpec[];
  /** Curve eps values above 0, one curve stage each, in this order. */
  readonly curvePoints: readonly number[];
  readonly stages: readonly AttackSpec[];
}

export function planStages(
  attacks: readonly AttackSpec[],
  curveEps: readonly number[],
  curveSteps: number,
  benign: readonly BenignSetting[] = [],
): StagePlan {
  const curvePoints = [...new Set(curveEps.filter((e) => e > 0))];
  return { benign, attacks, curvePoints, stages: [...attacks, ...curvePoints.map((e) => curveAttack(e, curveSteps))] };
}

/** Forward/backward passes a stage costs, the unit of progress: PGD-20 weighs twenty times FGSM. */
export function stageCost(spec: AttackSpec): number {
  return spec.cost ?? spec.params.steps + 1;
}

/** One step of a batch as progress shows it. */
export interface Step {
  readonly label: string;
  readonly units: number;
}

/** The steps of a batch: the clean pass, each benign setting, and (if it holds attacked rows) each stage. */
export function batchSteps(plan: StagePlan, attacked: boolean): Step[] {
  return [
    { label: 'clean', units: 1 },
    ...plan.benign.map((s) => ({ label: s.label, units: 1 })),
    ...(attacked ? plan.stages.map((spec) => ({ label: spec.label, units: stageCost(spec) })) : []),
  ];
}

/** Progress units of a whole evaluation of one model. */
export function planUnits(plan: StagePlan, count: number, attackCount: number, batchSize: number): number {
  let total = 0;
  for (let b = 0; b * batchSize < count; b++) {
    total += batchSteps(plan, b * batchSize < attackCount).reduce((sum, s) => sum + s.units, 0);
  }
  return total;
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
  /** Index of the batch's first image in the test set (benign noise is drawn per image). */
  readonly first: number;
  /** The attacks run on the batch's first `attackRows` rows only. */
  readonly attackRows: number;
}

/** The rows of a batch that the attacks run on (those before `attackCount`). */
export function attackRowsOf(start: number, end: number, attackCount: number): number {
  return Math.max(0, Math.min(end, attackCount) - start);
}

/**
 * Runs the clean pass, every benign setting and every stage on one batch. `onStep(step,
 * done)` is called before (done = false) and after (done = true) each of `batchSteps`. The
 * event loop gets a turn after each step so progress can be drawn.
 */
export async function runBatch(
  model: Model,
  input: BatchInput,
  plan: StagePlan,
  seed: number,
  batch: number,
  onStep?: (step: Step, done: boolean) => void,
): Promise<BatchOutputs> {
  const { height, width, channels } = input.shape;
  const n = input.labels.length;
  const a = Math.max(0, Math.min(n, input.attackRows));
  const steps = batchSteps(plan, a > 0);
  let next = 0;
  const step = async <T>(work: () => Promise<T> | T): Promise<T> => {
    const s = steps[next++] as Step;
    onStep?.(s, false);
    const result = await work();
    onStep?.(s, true);
    await yieldToEventLoop();
    return result;
  };
  const onImages = (images: Float32Array): Prediction => {
    const x = tf.tensor4d(images, [n, height, width, channels]);
    try {
      return predict(model, x);
    } finally {
      x.dispose();
    }
  };
  const clean = await step(() => onImages(input.images));
  const benign: Prediction[] = [];
  for (const setting of plan.benign) {
    benign.push(await step(async () => onImages(await corruptRows(input.images, n, input.shape, setting, seed, input.first))));
  }
  const stages: Prediction[] = [];
  const seconds: number[] = [];
  const parts: (readonly PartStats[] | null)[] = [];
  if (a === 0) return { clean, benign, stages, seconds, parts };
  const per = height * width * channels;
  const x = tf.tensor4d(input.images.subarray(0, a * per), [a, height, width, channels]);
  const y = tf.tensor1d(input.labels.subarray(0, a), 'int32');
  try {
    for (const spec of plan.stages) {
      await step(async () => {
        const t0 = performance.now();
        // A composite attack names each part as it starts, so that long stages show where they are.
        const onPart = (part: string): void => onStep?.({ label: `${spec.label}: ${part}`, units: 0 }, false);
        const result = await spec.run(model, x, y, stageSeed(seed, spec, batch), onPart);
        const xAdv = result instanceof tf.Tensor ? result : result.xAdv;
        try {
          stages.push(predict(model, xAdv));
        } finally {
          xAdv.dispose();
        }
        parts.push(result instanceof tf.Tensor ? null : result.parts);
        seconds.push((performance.now() - t0) / 1000);
      });
    }
    return { clean, benign, stages, seconds, parts };
  } finally {
    x.dispose();
    y.dispose();
  }
}
