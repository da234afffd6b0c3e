import * as tf from '@tensorflow/tfjs';
import type { ForwardResult, Model } from '../model/types.js';
import { BestIterate } from './adaptive.js';
import { APGD_ALPHA, apgdCheckpoints, shouldHalve } from './apgd-schedule.js';
import { checkBatch, checkEps, checkSteps, projectLinf, randomStart } from './linf.js';
import { perSampleLogPClean, perSampleMargin } from './losses.js';

/** What an APGD run ascends, and how it ranks its iterates to pick the one it returns. */
export interface ApgdObjective {
  /** The objective f to maximise, shape [N]. */
  value(out: ForwardResult, labels: tf.Tensor1D): tf.Tensor1D;
  /** The returned iterate has the highest key; a key above SUCCESS_KEY means the attack succeeded. */
  key(out: ForwardResult, labels: tf.Tensor1D): tf.Tensor1D;
}

/** Added to the key of a misclassified iterate, so that it beats every correctly classified one. */
const SUCCESS_BONUS = 1e4;
const KEY_LIMIT = 1e3;
export const SUCCESS_KEY = SUCCESS_BONUS / 2;

const success = (out: ForwardResult, labels: tf.Tensor1D): tf.Tensor1D =>
  tf.mul(tf.cast(tf.greater(perSampleMargin(out.logits, labels), 0), 'float32'), SUCCESS_BONUS) as tf.Tensor1D;

/** Misclassified first, then by the CW margin: the most confidently wrong iterate, or the nearest miss. */
export function marginKey(out: ForwardResult, labels: tf.Tensor1D): tf.Tensor1D {
  const margin = tf.clipByValue(perSampleMargin(out.logits, labels), -KEY_LIMIT, KEY_LIMIT);
  return tf.add(success(out, labels), margin) as tf.Tensor1D;
}

/** Misclassified first, then by log P(clean): the wrong iterate the router finds cleanest. */
export function routerKey(out: ForwardResult, labels: tf.Tensor1D): tf.Tensor1D {
  const logP = perSampleLogPClean(out);
  if (logP === null) return marginKey(out, labels);
  return tf.add(success(out, labels), tf.maximum(logP, -KEY_LIMIT)) as tf.Tensor1D;
}

export interface ApgdRunOptions {
  readonly eps: number;
  readonly steps: number;
  readonly seed: number | string;
  /** Start from a uniform random point of the eps-ball; default true. */
  readonly randomStart?: boolean;
  /** Called at each checkpoint after the halving rule has run (tests watch the schedule with it). */
  readonly onCheckpoint?: (event: CheckpointEvent) => void;
}

export interface CheckpointEvent {
  /** Iterations done. */
  readonly iteration: number;
  /** Per image: whether its step size was halved here (and it restarted from its best point). */
  readonly halved: Uint8Array;
  /** Per image, the step size from now on. */
  readonly stepSizes: Float32Array;
  /** Per image, the best objective so far. */
  readonly best: Float32Array;
  /** The iterate the run goes on from (borrowed: valid during the call only). */
  readonly current: tf.Tensor4D;
}

export interface ApgdResult {
  /** Inside the eps-ball around x and [0, 1]; owned by the caller. */
  readonly xAdv: tf.Tensor4D;
  /** The key of xAdv per sample (above SUCCESS_KEY: misclassified). */
  readonly keys: Float32Array;
}

interface Evaluated {
  readonly grad: tf.Tensor4D;
  readonly value: Float32Array;
  readonly key: tf.Tensor1D;
}

function evaluator(model: Model, labels: tf.Tensor1D, objective: ApgdObjective): (x: tf.Tensor4D) => Evaluated {
  return (x) => {
    const captured: { value?: tf.Tensor1D; key?: tf.Tensor1D } = {};
    const gradient = tf.grad((xi: tf.Tensor) => {
      const out = model.forward(xi as tf.Tensor4D, { training: false });
      const value = objective.value(out, labels);
      // Value and key come from the same forward pass as the gradient.
      captured.value = tf.keep(value);
      captured.key = tf.keep(objective.key(out, labels));
      return tf.sum(value);
    });
    const grad = tf.tidy(() => gradient(x) as tf.Tensor4D);
    const { value, key } = captured as { value: tf.Tensor1D; key: tf.Tensor1D };
    const values = Float32Array.from(value.dataSync());
    value.dispose();
    return { grad, value: values, key };
  };
}

/** Rows of `a` where mask[i], else rows of `b`; a new tensor. */
function whereRows<T extends tf.Tensor>(mask: Uint8Array, a: T, b: T): T {
  return tf.tidy(() => {
    const m = tf.tensor1d(Array.from(mask, (v) => v === 1), 'bool');
    return tf.where(tf.broadcastTo(tf.reshape(m, [-1, ...a.shape.slice(1).map(() => 1)]), a.shape), a, b) as T;
  });
}

/**
 * One run of APGD (Croce & Hein 2020, Algorithm 1) for the L∞ ball: a sign-gradient step of
 * per-image size η (2ε at first) followed by the momentum step
 *   x^{k+1} = P(x^k + α(z^{k+1} − x^k) + (1 − α)(x^k − x^{k−1})),  α = 0.75,
 * and at each checkpoint of `apgdCheckpoints` the halving rule of `shouldHalve`, restarting
 * a halved image from its best point x_max (the highest objective so far) with its gradient.
 * Returns the iterate with the highest key per image.
 */
export function apgdRun(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, objective: ApgdObjective, options: ApgdRunOptions): ApgdResult {
  const { eps, steps } = options;
  checkEps(eps);
  checkSteps(steps);
  checkBatch(model, x, labels);
  const n = x.shape[0];
  const evaluate = evaluator(model, labels, objective);
  const checkpoints = new Set(apgdCheckpoints(steps));
  const eta = new Float32Array(n).fill(2 * eps);
  const tracker = new BestIterate();

  let xAdv = options.randomStart === false ? tf.clone(x) : randomStart(x, eps, options.seed);
  let { grad, value, key } = evaluate(xAdv);
  tracker.consider(xAdv, key);
  key.dispose();
  let xPrev = tf.clone(xAdv);
  let xBest = tf.clone(xAdv);
  let gradBest = tf.clone(grad);
  const best = Float32Array.from(value);
  let bestAtLast = Float32Array.from(best);
  let halvedLast = new Uint8Array(n);
  let period: Float32Array[] = [value];

  for (let i = 0; i < steps; i++) {
    const etaT = tf.tensor4d(eta, [n, 1, 1, 1]);
    const next = tf.tidy(() => {
      const z = projectLinf(tf.add(xAdv, tf.mul(tf.sign(grad), etaT)) as tf.Tensor4D, x, eps);
      if (i === 0) return z;
      const moved = tf.add(xAdv, tf.add(tf.mul(tf.sub(z, xAdv), APGD_ALPHA), tf.mul(tf.sub(xAdv, xPrev), 1 - APGD_ALPHA)));
      return projectLinf(moved as tf.Tensor4D, x, eps);
    });
    etaT.dispose();
    xPrev.dispose();
    grad.dispose();
    xPrev = xAdv;
    xAdv = next;
    ({ grad, value, key } = evaluate(xAdv));
    tracker.consider(xAdv, key);
    key.dispose();

    const improved = new Uint8Array(n);
    for (let s = 0; s < n; s++) {
      if ((value[s] as number) > (best[s] as number)) {
        improved[s] = 1;
        best[s] = value[s] as number;
      }
    }
    if (improved.includes(1)) {
      const [xb, gb] = [whereRows(improved, xAdv, xBest), whereRows(improved, grad, gradBest)];
      tf.dispose([xBest, gradBest]);
      [xBest, gradBest] = [xb, gb];
    }
    period.push(value);

    if (!checkpoints.has(i + 1)) continue;
    const halve = new Uint8Array(n);
    for (let s = 0; s < n; s++) {
      const state = {
        objective: period.map((v) => v[s] as number),
        halvedLast: halvedLast[s] === 1,
        bestAtLast: bestAtLast[s] as number,
        bestNow: best[s] as number,
      };
      if (shouldHalve(state)) {
        halve[s] = 1;
        eta[s] = (eta[s] as number) / 2;
      }
    }
    if (halve.includes(1)) {
      const [xr, gr] = [whereRows(halve, xBest, xAdv), whereRows(halve, gradBest, grad)];
      tf.dispose([xAdv, grad]);
      [xAdv, grad] = [xr, gr];
    }
    options.onCheckpoint?.({ iteration: i + 1, halved: halve, stepSizes: Float32Array.from(eta), best: Float32Array.from(best), current: xAdv });
    // The next period starts at the point the iteration goes on from.
    period = [Float32Array.from(value, (v, s) => (halve[s] === 1 ? (best[s] as number) : v))];
    halvedLast = halve;
    bestAtLast = Float32Array.from(best);
  }
  tf.dispose([xAdv, xPrev, grad, xBest, gradBest]);
  const keys = tracker.keys();
  return { xAdv: tracker.take(), keys };
}
