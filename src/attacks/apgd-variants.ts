import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { apgdRun, marginKey, routerKey, SUCCESS_KEY, type ApgdObjective, type ApgdResult } from './apgd.js';
import { classesByLogit, perSampleTargetedDlr } from './dlr.js';
import { AttackOptionsError } from './errors.js';
import { checkBatch, checkEps, checkSteps } from './linf.js';
import { perSampleCrossEntropy, perSampleLogPClean, perSampleMargin } from './losses.js';

export interface ApgdOptions {
  readonly eps: number;
  /** Iterations per run; default 100 (AutoAttack's standard). */
  readonly steps?: number;
  /** Runs from fresh random starts on the images still not fooled; default 1. */
  readonly restarts?: number;
  readonly seed?: number | string;
}

export interface ApgdTargetedOptions extends ApgdOptions {
  /** Target classes, the 2nd … (targets+1)-th most likely at the clean image; default 9. */
  readonly targets?: number;
}

export interface ApgdAdaptiveOptions extends ApgdOptions {
  /** Weight λ of log P(clean) in the objective; default 1. */
  readonly lambda?: number;
}

export const APGD_DEFAULT_STEPS = 100;
export const APGD_DEFAULT_TARGETS = 9;

/** An integer option at least `min`. */
export function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new AttackOptionsError(`${name} must be an integer >= ${min}; got ${String(value)}`);
}

/**
 * Runs `rounds` attack runs, each on the images not yet fooled (or on all of them when
 * `untilFooled` is false), and keeps per image the result with the highest key: the
 * per-image worst case over the runs, as AutoAttack combines restarts and targets.
 */
export function bestOfRuns(
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  rounds: number,
  run: (x: tf.Tensor4D, labels: tf.Tensor1D, round: number, rows: readonly number[]) => ApgdResult,
  untilFooled = true,
): ApgdResult {
  const n = x.shape[0];
  const per = x.size / Math.max(n, 1);
  const best = Float32Array.from(x.dataSync());
  const keys = new Float32Array(n).fill(-Infinity);
  for (let round = 0; round < rounds; round++) {
    const rows = [...keys.keys()].filter((i) => !untilFooled || !((keys[i] as number) > SUCCESS_KEY));
    if (rows.length === 0) break;
    const index = tf.tensor1d(rows, 'int32');
    const xs = tf.gather(x, index) as tf.Tensor4D;
    const ys = tf.gather(labels, index) as tf.Tensor1D;
    index.dispose();
    const result = run(xs, ys, round, rows);
    tf.dispose([xs, ys]);
    const data = result.xAdv.dataSync();
    rows.forEach((row, j) => {
      if ((result.keys[j] as number) > (keys[row] as number)) {
        keys[row] = result.keys[j] as number;
        best.set(data.subarray(j * per, (j + 1) * per), row * per);
      }
    });
    result.xAdv.dispose();
  }
  return { xAdv: tf.tensor4d(best, x.shape), keys };
}

function checked(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, options: ApgdOptions): { steps: number; restarts: number; seed: number | string } {
  const steps = options.steps ?? APGD_DEFAULT_STEPS;
  const restarts = options.restarts ?? 1;
  checkEps(options.eps);
  checkSteps(steps);
  checkCount('restarts', restarts, 1);
  checkBatch(model, x, labels);
  return { steps, restarts, seed: options.seed ?? 0 };
}

const crossEntropy: ApgdObjective = { value: (out, labels) => perSampleCrossEntropy(out.logits, labels), key: marginKey };

/** APGD-CE: APGD on the cross-entropy, untargeted. The caller owns xAdv. */
export function apgdCe(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, options: ApgdOptions): ApgdResult {
  const { steps, restarts, seed } = checked(model, x, labels, options);
  return bestOfRuns(x, labels, restarts, (xs, ys, r) => apgdRun(model, xs, ys, crossEntropy, { eps: options.eps, steps, seed: `${seed}/ce/${r}` }));
}

/**
 * APGD-T: APGD on the targeted DLR loss, once per target class (the 2nd, 3rd, … most likely
 * class at the clean image), each run only on the images the earlier ones did not fool.
 */
export function apgdTargeted(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, options: ApgdTargetedOptions): ApgdResult {
  const { steps, restarts, seed } = checked(model, x, labels, options);
  const k = model.config.numClasses;
  const targets = Math.min(options.targets ?? APGD_DEFAULT_TARGETS, k - 1);
  checkCount('targets', targets, 1);
  const ranked = tf.tidy(() => model.forward(x, { training: false }).logits);
  const order = classesByLogit(ranked);
  ranked.dispose();
  return bestOfRuns(x, labels, targets * restarts, (xs, ys, round, rows) => {
    const rank = 1 + Math.floor(round / restarts);
    const target = tf.tensor1d(rows.map((row) => order[row]?.[rank] ?? 0), 'int32');
    const objective: ApgdObjective = { value: (out, l) => perSampleTargetedDlr(out.logits, l, target), key: marginKey };
    try {
      return apgdRun(model, xs, ys, objective, { eps: options.eps, steps, seed: `${seed}/t${rank}/${round % restarts}` });
    } finally {
      target.dispose();
    }
  });
}

/**
 * Detector-aware APGD: the adaptive attack's objective min(m, 0) + λ·log P(clean) (m the CW
 * margin, see adaptive.ts) under APGD's step-size schedule and momentum, returning per image
 * the misclassified iterate the router finds cleanest. For a model without a router it is
 * APGD on the clamped margin.
 */
export function apgdAdaptive(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, options: ApgdAdaptiveOptions): ApgdResult {
  const { steps, restarts, seed } = checked(model, x, labels, options);
  const lambda = options.lambda ?? 1;
  if (!Number.isFinite(lambda) || lambda < 0) throw new AttackOptionsError(`lambda must be a finite number >= 0; got ${String(lambda)}`);
  const objective: ApgdObjective = {
    value: (out, l) => {
      const clamped = tf.minimum(perSampleMargin(out.logits, l), 0) as tf.Tensor1D;
      const logP = perSampleLogPClean(out);
      return logP === null ? clamped : (tf.add(clamped, tf.mul(logP, lambda)) as tf.Tensor1D);
    },
    key: routerKey,
  };
  // Restarts go on for images already fooled: a later run may find a cleaner-looking one.
  return bestOfRuns(x, labels, restarts, (xs, ys, r) => apgdRun(model, xs, ys, objective, { eps: options.eps, steps, seed: `${seed}/adaptive/${r}` }), false);
}
