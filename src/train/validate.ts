import * as tf from '@tensorflow/tfjs';
import { adaptiveAttack } from '../attacks/adaptive.js';
import { fgsm } from '../attacks/fgsm.js';
import { pgd } from '../attacks/pgd.js';
import { modelOracle } from '../attacks/score-oracle.js';
import { squareAttack } from '../attacks/square.js';
import type { Dataset } from '../data/types.js';
import { gatherBatch } from '../data/split.js';
import type { Model } from '../model/types.js';
import { correctCount } from './losses.js';

export interface ValidationOptions {
  readonly batchSize: number;
  readonly eps: number;
  readonly attackSteps: number;
  readonly attackStepSize: number;
  /** λ of the adaptive attacks (one attack each); empty: no adaptive attack. */
  readonly adaptiveLambdas: readonly number[];
  /**
   * Queries per image of a Square Attack on the images every gradient attack left correct (0 or
   * undefined: none). AW-Net's router can learn to make its gradients vanish; the score-only
   * attack still moves it, so a worst case without it can choose a checkpoint that only looks robust.
   */
  readonly squareQueries?: number;
  readonly seed: number;
}

export interface ValidationFigures {
  /** Clean accuracy on every validation image. */
  readonly cleanAcc: number;
  readonly cleanCount: number;
  /** FGSM accuracy on the attacked images (with PGD's, the catastrophic-overfitting signal). */
  readonly fgsmAcc: number | null;
  /** PGD accuracy on the first `pgdCount` validation images. */
  readonly pgdAcc: number | null;
  readonly pgdCount: number;
  /**
   * Per image, the worst case over PGD, every adaptive attack and the Square Attack (each
   * runs only on the images still correct, as the worst case needs nothing more).
   */
  readonly worstAcc: number | null;
  /** Images the Square Attack took from the worst case (null when it did not run). */
  readonly squareFooled: number | null;
  /** (clean accuracy + worst-case accuracy) / 2. */
  readonly wRobust: number | null;
  /**
   * Router type accuracy on those images and their PGD versions: P(clean) > 0.5 on clean,
   * < 0.5 on adversarial. Null without a router.
   */
  readonly routerAcc: number | null;
}

function toTensors(dataset: Dataset, indices: Int32Array): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const batch = gatherBatch(dataset, indices);
  const { height, width, channels } = dataset.shape;
  return { x: tf.tensor4d(batch.images, [batch.count, height, width, channels]), y: tf.tensor1d(batch.labels, 'int32') };
}

/** Per-row correctness of the model on x. */
function correctRows(model: Model, x: tf.Tensor4D, y: tf.Tensor1D): Uint8Array {
  const t = tf.tidy(() => tf.equal(tf.argMax(model.forward(x, { training: false }).logits, 1), tf.cast(y, 'int32')));
  const out = Uint8Array.from(t.dataSync() as Uint8Array);
  t.dispose();
  return out;
}

/** Rows of a batch where `alive` is set, as tensors (null when none is). */
function keepRows(x: tf.Tensor4D, y: tf.Tensor1D, alive: Uint8Array): { x: tf.Tensor4D; y: tf.Tensor1D; rows: number[] } | null {
  const rows = [...alive.keys()].filter((i) => alive[i] === 1);
  if (rows.length === 0) return null;
  const idx = tf.tensor1d(rows, 'int32');
  const out = { x: tf.gather(x, idx) as tf.Tensor4D, y: tf.gather(y, idx) as tf.Tensor1D, rows };
  idx.dispose();
  return out;
}

/** Sets `alive[row]` to 0 for every alive row the Square Attack misclassifies; returns how many. */
async function squareSurvivors(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, alive: Uint8Array, queries: number, eps: number, seed: number): Promise<number> {
  const kept = keepRows(x, y, alive);
  if (kept === null) return 0;
  const pixels = Float32Array.from(kept.x.dataSync());
  const labels = Int32Array.from(kept.y.dataSync());
  tf.dispose([kept.x, kept.y]);
  const { fooled } = await squareAttack(modelOracle(model), pixels, labels, { eps, queries, seed });
  let taken = 0;
  kept.rows.forEach((row, i) => {
    if (fooled[i] === 1) {
      alive[row] = 0;
      taken++;
    }
  });
  return taken;
}

/** Clean accuracy on `indices`; FGSM, PGD, worst-case and router accuracy on `pgdIndices`. */
export async function validate(
  model: Model,
  dataset: Dataset,
  indices: Int32Array,
  pgdIndices: Int32Array,
  options: ValidationOptions,
): Promise<ValidationFigures> {
  let correct = 0;
  for (let start = 0; start < indices.length; start += options.batchSize) {
    const { x, y } = toTensors(dataset, indices.subarray(start, start + options.batchSize));
    const c = tf.tidy(() => correctCount(model.forward(x, { training: false }).logits, y));
    correct += c.dataSync()[0]!;
    tf.dispose([x, y, c]);
  }
  let fgsmCorrect = 0;
  let pgdCorrect = 0;
  let worstCorrect = 0;
  let routerCorrect = 0;
  let squareFooled = 0;
  const squareQueries = options.squareQueries ?? 0;
  let hasRouter = false;
  for (let start = 0; start < pgdIndices.length; start += options.batchSize) {
    const { x, y } = toTensors(dataset, pgdIndices.subarray(start, start + options.batchSize));
    const xFgsm = fgsm(model, x, y, { eps: options.eps });
    fgsmCorrect += correctRows(model, xFgsm, y).reduce((s, v) => s + v, 0);
    xFgsm.dispose();
    const xAdv = pgd(model, x, y, {
      eps: options.eps,
      steps: options.attackSteps,
      stepSize: options.attackStepSize,
      randomStart: true,
      seed: options.seed + start,
    });
    // One forward of the adversarial batch gives both its correct rows and the router's verdict.
    const [correctT, countT] = tf.tidy(() => {
      const clean = model.forward(x, { training: false });
      const adv = model.forward(xAdv, { training: false });
      const correctMask = tf.equal(tf.argMax(adv.logits, 1), tf.cast(y, 'int32'));
      if (clean.pClean === null || adv.pClean === null) return [correctMask, tf.scalar(-1)];
      const router = tf.add(tf.sum(tf.cast(tf.greater(clean.pClean, 0.5), 'float32')), tf.sum(tf.cast(tf.less(adv.pClean, 0.5), 'float32')));
      return [correctMask, router];
    });
    // Read outside tidy: tidy walks returned typed arrays element by element.
    const alive = Uint8Array.from(correctT.dataSync() as Uint8Array);
    pgdCorrect += alive.reduce((s, v) => s + v, 0);
    const r = countT.dataSync()[0]!;
    if (r >= 0) {
      hasRouter = true;
      routerCorrect += r;
    }
    tf.dispose([xAdv, correctT, countT]);
    // Without a router λ does nothing: one margin attack stands for all of them.
    const lambdas = r >= 0 ? options.adaptiveLambdas : options.adaptiveLambdas.slice(0, 1);
    for (const [k, lambda] of lambdas.entries()) {
      const kept = keepRows(x, y, alive);
      if (kept === null) break;
      const xa = adaptiveAttack(model, kept.x, kept.y, {
        eps: options.eps,
        steps: options.attackSteps,
        stepSize: options.attackStepSize,
        lambda,
        seed: options.seed + start + 7919 * (k + 1),
      });
      const ok = correctRows(model, xa, kept.y);
      kept.rows.forEach((row, i) => {
        if (ok[i] === 0) alive[row] = 0;
      });
      tf.dispose([xa, kept.x, kept.y]);
    }
    if (squareQueries > 0) squareFooled += await squareSurvivors(model, x, y, alive, squareQueries, options.eps, options.seed + start + 104729);
    worstCorrect += alive.reduce((s, v) => s + v, 0);
    tf.dispose([x, y]);
  }
  const pgdCount = pgdIndices.length;
  const cleanAcc = indices.length > 0 ? correct / indices.length : 0;
  const worstAcc = pgdCount > 0 ? worstCorrect / pgdCount : null;
  return {
    cleanAcc,
    cleanCount: indices.length,
    fgsmAcc: pgdCount > 0 ? fgsmCorrect / pgdCount : null,
    pgdAcc: pgdCount > 0 ? pgdCorrect / pgdCount : null,
    pgdCount,
    worstAcc,
    squareFooled: pgdCount > 0 && squareQueries > 0 ? squareFooled : null,
    wRobust: worstAcc !== null && indices.length > 0 ? (cleanAcc + worstAcc) / 2 : null,
    routerAcc: pgdCount > 0 && hasRouter ? routerCorrect / (2 * pgdCount) : null,
  };
}

/**
 * Catastrophic overfitting (Wong et al.): robustness to multi-step PGD collapses while the
 * single-step attack the model trains against stops working. Signalled when PGD accuracy
 * falls more than `drop` below the best seen so far while FGSM accuracy holds (within 5
 * points of its value at that best) or rises.
 */
/**
 * A collapse that catastrophicOverfitting does not see: the validation worst case (PGD and
 * the router-aware adaptive attacks) falls more than `drop` below its best, whatever FGSM
 * does. In AW-Net this is the router learning its own training attacks: it routes them into
 * the robust mode while validation attacks pass as clean, and FGSM accuracy falls too.
 */
export function robustnessCollapse(
  history: readonly { readonly worstAcc?: number | null }[],
  current: { readonly worstAcc: number | null },
  drop = 0.2,
): boolean {
  if (current.worstAcc === null) return false;
  const seen = history.map((h) => h.worstAcc).filter((a): a is number => typeof a === 'number');
  return seen.length > 0 && current.worstAcc < Math.max(...seen) - drop;
}

export function catastrophicOverfitting(
  history: readonly { readonly pgdAcc: number | null; readonly fgsmAcc: number | null }[],
  current: { readonly pgdAcc: number | null; readonly fgsmAcc: number | null },
  drop = 0.2,
): boolean {
  if (current.pgdAcc === null || current.fgsmAcc === null) return false;
  let best: { pgdAcc: number; fgsmAcc: number } | null = null;
  for (const h of history) {
    if (h.pgdAcc === null || h.fgsmAcc === null) continue;
    if (best === null || h.pgdAcc > best.pgdAcc) best = { pgdAcc: h.pgdAcc, fgsmAcc: h.fgsmAcc };
  }
  if (best === null) return false;
  return current.pgdAcc < best.pgdAcc - drop && current.fgsmAcc >= best.fgsmAcc - 0.05;
}
