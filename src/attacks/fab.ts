import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { checkCount, bestOfRuns } from './apgd-variants.js';
import type { ApgdResult } from './apgd.js';
import { classesByLogit } from './dlr.js';
import { AttackOptionsError } from './errors.js';
import { checkBatch, checkEps, checkSteps, projectLinf } from './linf.js';
import { attackRandom } from './random.js';

export interface FabOptions {
  readonly eps: number;
  /** Iterations per run; default 100. */
  readonly steps?: number;
  /** Target classes, the 2nd … (targets+1)-th most likely at the clean image; default 9. */
  readonly targets?: number;
  /** Runs per target; the first starts at the clean image, the others at random points of the ε/2-ball. Default 1. */
  readonly restarts?: number;
  /** Largest weight of the step from the clean image (α_max); default 0.1. */
  readonly alphaMax?: number;
  /** Overshoot past the linearised boundary (η); default 1.05. */
  readonly overshoot?: number;
  /** Backward step towards the clean image after a success (β); default 0.9. */
  readonly backward?: number;
  readonly seed?: number | string;
}

export const FAB_DEFAULT_STEPS = 100;
/**
 * Per row, the smallest L∞ step δ with w·(p + δ) = b and p + δ in [0, 1]^d: the projection
 * onto a hyperplane under the box constraint. Moving every coordinate by t towards the plane
 * gains h(t) = Σ_i |w_i|·min(t, room_i), increasing and piecewise linear with breakpoints at the
 * rooms; sorting them finds the piece where h reaches |b − w·p| and t in closed form. When no
 * t suffices, every coordinate goes to its bound.
 */
export function projectOntoHyperplane(p: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const d = p.shape[1];
    const c = tf.sub(b, tf.sum(tf.mul(w, p), 1));
    const direction = tf.mul(tf.sign(w), tf.reshape(tf.sign(c), [-1, 1]));
    const room = tf.where(tf.greater(direction, 0), tf.sub(1, p), p) as tf.Tensor2D;
    const need = tf.reshape(tf.abs(c), [-1, 1]);
    const sorted = tf.topk(tf.neg(room), d);
    const r = tf.neg(sorted.values);
    // Flat indices rather than gather's batchDims, which the wasm backend gets wrong.
    const rows = tf.range(0, p.shape[0] * d, d, 'int32');
    const flat = tf.add(sorted.indices, tf.reshape(rows, [-1, 1]));
    const a = tf.reshape(tf.gather(tf.reshape(tf.abs(w), [-1]), tf.reshape(flat, [-1])), p.shape);
    const total = tf.sum(a, 1, true);
    // With t at the k-th smallest room: h = Σ_{i≤k} a_i r_i + r_k · Σ_{i>k} a_i.
    const below = tf.cumsum(tf.mul(a, r), 1);
    const above = tf.sub(total, tf.cumsum(a, 1));
    const h = tf.add(below, tf.mul(r, above));
    // k: the first breakpoint where h reaches the need; t lies on the piece just before it.
    const k = tf.sum(tf.cast(tf.less(h, need), 'int32'), 1);
    const prev = tf.oneHot(tf.sub(k, tf.scalar(1, 'int32')) as tf.Tensor1D, d);
    const first = tf.cast(tf.equal(tf.reshape(k, [-1, 1]), tf.scalar(0, 'int32')), 'float32');
    const gained = tf.sum(tf.mul(prev, below), 1, true);
    const slope = tf.add(tf.sum(tf.mul(prev, above), 1, true), tf.mul(first, total));
    const t = tf.div(tf.sub(need, gained), tf.maximum(slope, 1e-30));
    const reach = tf.where(tf.less(tf.reshape(k, [-1, 1]), tf.scalar(d, 'int32')), t, tf.max(room, 1, true));
    return tf.mul(direction, tf.minimum(room, reach)) as tf.Tensor2D;
  });
}

const maxAbs = (t: tf.Tensor2D): tf.Tensor2D => tf.max(tf.abs(t), 1, true) as tf.Tensor2D;

interface RunSettings {
  readonly steps: number;
  readonly alphaMax: number;
  readonly overshoot: number;
  readonly backward: number;
}

/**
 * One targeted FAB run (Croce & Hein, ICML 2020, "Minimally distorted adversarial examples
 * with a fast adaptive boundary attack"), L∞: linearise the boundary z_t = z_y at the iterate,
 * project both the iterate and the clean image onto it (box-constrained), step to a convex
 * combination of the two projections weighted towards the clean image by α ≤ α_max,
 * overshooting by η; after a success, step back towards the clean image by β. Returns per
 * image the smallest perturbation that fooled the model and its L∞ norm (∞ if none did).
 */
function fabRun(model: Model, x0: tf.Tensor4D, labels: tf.Tensor1D, target: tf.Tensor1D, start: tf.Tensor4D, settings: RunSettings): { adv: Float32Array; norm: Float32Array } {
  const n = x0.shape[0];
  const k = model.config.numClasses;
  const d = x0.size / n;
  const adv = Float32Array.from(x0.dataSync());
  const norm = new Float32Array(n).fill(Infinity);
  const [hotY, hotT, x0f] = tf.tidy(() => [
    tf.oneHot(tf.cast(labels, 'int32'), k).toFloat(),
    tf.oneHot(tf.cast(target, 'int32'), k).toFloat(),
    tf.reshape(x0, [n, d]) as tf.Tensor2D,
  ]);
  const captured: { df?: tf.Tensor1D } = {};
  const gradient = tf.grad((xi: tf.Tensor) => {
    const logits = model.forward(xi as tf.Tensor4D, { training: false }).logits;
    // df_i = z_t − z_y per row; the rows are independent, so the gradient of the sum is per row.
    const df = tf.sum(tf.mul(logits, tf.sub(hotT as tf.Tensor2D, hotY as tf.Tensor2D)), 1) as tf.Tensor1D;
    captured.df = tf.keep(df);
    return tf.sum(df);
  });
  let x1 = tf.clone(start);
  for (let it = 0; it < settings.steps; it++) {
    const next = tf.tidy(() => {
      const grad = gradient(x1);
      const perRow = captured.df as tf.Tensor1D;
      const w = tf.reshape(grad, [n, d]) as tf.Tensor2D;
      const xf = tf.reshape(x1, [n, d]) as tf.Tensor2D;
      const b = tf.sub(tf.sum(tf.mul(w, xf), 1), perRow) as tf.Tensor1D;
      const both = projectOntoHyperplane(tf.concat([xf, x0f as tf.Tensor2D]), tf.concat([w, w]), tf.concat([b, b]));
      const d1 = tf.slice(both, [0, 0], [n, d]) as tf.Tensor2D;
      const d2 = tf.slice(both, [n, 0], [n, d]) as tf.Tensor2D;
      const a1 = tf.maximum(maxAbs(d1), 1e-8);
      const a2 = tf.maximum(maxAbs(d2), 1e-8);
      const alpha = tf.clipByValue(tf.div(a1, tf.add(a1, a2)), 0, settings.alphaMax);
      const fromIterate = tf.mul(tf.add(xf, tf.mul(d1, settings.overshoot)), tf.sub(1, alpha));
      const fromClean = tf.mul(tf.add(x0f as tf.Tensor2D, tf.mul(d2, settings.overshoot)), alpha);
      return tf.reshape(tf.clipByValue(tf.add(fromIterate, fromClean), 0, 1), x0.shape) as tf.Tensor4D;
    });
    captured.df?.dispose();
    x1.dispose();
    const [wrong, dist] = tf.tidy(() => {
      const predicted = tf.argMax(model.forward(next, { training: false }).logits, 1);
      return [tf.notEqual(predicted, tf.cast(labels, 'int32')), tf.max(tf.abs(tf.sub(next, x0)), [1, 2, 3])] as const;
    });
    const fooled = wrong.dataSync();
    const distance = dist.dataSync();
    tf.dispose([wrong, dist]);
    const data = next.dataSync();
    for (let i = 0; i < n; i++) {
      if (fooled[i] && (distance[i] as number) < (norm[i] as number)) {
        norm[i] = distance[i] as number;
        adv.set(data.subarray(i * d, (i + 1) * d), i * d);
      }
    }
    const back = tf.tensor1d(Array.from(fooled, (f) => (f ? settings.backward : 1)));
    x1 = tf.tidy(() => tf.add(x0, tf.mul(tf.sub(next, x0), tf.reshape(back, [-1, 1, 1, 1]))) as tf.Tensor4D);
    tf.dispose([back, next]);
  }
  tf.dispose([x1, hotY, hotT, x0f]);
  return { adv, norm };
}

/** A start for restart r: the clean image, then uniform points of the ε/2-ball (clipped to [0, 1]). */
function startOf(x: tf.Tensor4D, eps: number, seed: string, restart: number): tf.Tensor4D {
  if (restart === 0) return tf.clone(x);
  const next = attackRandom(seed, `fab-start/${restart}`);
  const noise = Float32Array.from({ length: x.size }, () => (2 * next() - 1) * (eps / 2));
  return tf.tidy(() => tf.clipByValue(tf.add(x, tf.tensor4d(noise, x.shape)), 0, 1) as tf.Tensor4D);
}

/**
 * FAB-T, L∞: FAB against each of `targets` target classes in turn, each only on the images
 * still not fooled within ε. An image counts as fooled when FAB's smallest perturbation is
 * at most ε; then that example is returned, else the clean image (as AutoAttack does). Keys
 * are above SUCCESS_KEY for fooled images.
 */
export function fabTargeted(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, options: FabOptions): ApgdResult {
  const eps = options.eps;
  const steps = options.steps ?? FAB_DEFAULT_STEPS;
  const restarts = options.restarts ?? 1;
  const settings: RunSettings = { steps, alphaMax: options.alphaMax ?? 0.1, overshoot: options.overshoot ?? 1.05, backward: options.backward ?? 0.9 };
  checkEps(eps);
  checkSteps(steps);
  checkCount('restarts', restarts, 1);
  checkBatch(model, x, labels);
  if (!(settings.alphaMax >= 0 && settings.alphaMax <= 1) || !(settings.overshoot >= 1) || !(settings.backward > 0 && settings.backward <= 1)) {
    throw new AttackOptionsError(`FAB needs alphaMax in [0, 1], overshoot >= 1 and backward in (0, 1]; got ${settings.alphaMax}, ${settings.overshoot}, ${settings.backward}`);
  }
  const k = model.config.numClasses;
  const targets = Math.min(options.targets ?? 9, k - 1);
  checkCount('targets', targets, 1);
  const seed = String(options.seed ?? 0);
  const order = tf.tidy(() => model.forward(x, { training: false }).logits);
  const ranked = classesByLogit(order);
  order.dispose();
  return bestOfRuns(x, labels, targets * restarts, (xs, ys, round, rows) => {
    const rank = 1 + Math.floor(round / restarts);
    const target = tf.tensor1d(rows.map((row) => ranked[row]?.[rank] ?? 0), 'int32');
    const start = startOf(xs, eps, `${seed}/t${rank}`, round % restarts);
    const { adv, norm } = fabRun(model, xs, ys, target, start, settings);
    tf.dispose([target, start]);
    // Only examples inside the ball count; the projection only removes float32 rounding.
    const inside = Array.from(norm, (v) => v <= eps + 1e-6);
    const xAdv = tf.tidy(() => {
      const candidate = tf.tensor4d(adv, xs.shape);
      const mask = tf.broadcastTo(tf.reshape(tf.tensor1d(inside, 'bool'), [-1, 1, 1, 1]), xs.shape);
      return projectLinf(tf.where(mask, candidate, xs) as tf.Tensor4D, xs, eps);
    });
    const keys = Float32Array.from(norm, (v, i) => (inside[i] ? 1e4 + (eps - v) : Number.isFinite(v) ? -v : -1e9));
    return { xAdv, keys };
  });
}
