import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { AttackOptionsError } from './errors.js';
import {
  checkBatch,
  checkEps,
  checkStepSize,
  checkSteps,
  projectLinf,
  randomStart as startNear,
} from './linf.js';
import { perSampleLogPClean, perSampleMargin } from './losses.js';

export interface AdaptiveOptions {
  readonly eps: number;
  /** Default 30. */
  readonly steps?: number;
  /** Default eps / 4. */
  readonly stepSize?: number;
  /** Weight λ of the router term; default 1. */
  readonly lambda?: number;
  /** Margin κ above which misclassification stops being pushed further; default 0. */
  readonly confidence?: number;
  readonly randomStart?: boolean;
  readonly seed?: number | string;
}

export const ADAPTIVE_DEFAULT_STEPS = 30;

/** Selection keys put every misclassified iterate above every correctly classified one. */
const SUCCESS_BONUS = 1e4;
const KEY_FLOOR = -1e3;

/**
 * Adaptive attack on AW-Net: it must both fool the classifier and convince the router
 * that the input is clean, because AW-Net's defence runs through the router (its
 * P(clean) mixes the BNs and its signal heads scale the filters) and the service flags
 * inputs on 1 − P(clean).
 *
 * Each PGD step ascends, per sample,
 *   J(x) = min(m(x), κ) + λ · log P(clean | x),
 * where m is the CW margin (max wrong logit − true logit). The clamp at κ hands the whole
 * step to the router term once the sample is misclassified with margin κ, instead of
 * letting an unbounded classification loss drown it. Equivalently the attacker
 * maximises its classification objective while minimising the router's cross-entropy
 * towards the "clean" label (−log P(clean)), weighted by λ.
 *
 * The attack keeps, per sample, the best iterate seen (start included): a misclassified
 * iterate beats any correctly classified one; among equals, the higher P(clean) wins.
 * For a model without a router (static), J is the clamped margin alone and the same
 * selection applies with the margin as tie-break.
 *
 * The caller owns the returned tensor.
 */
export function adaptiveAttack(
  model: Model,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  options: AdaptiveOptions,
): tf.Tensor4D {
  const eps = options.eps;
  const steps = options.steps ?? ADAPTIVE_DEFAULT_STEPS;
  const stepSize = options.stepSize ?? eps / 4;
  const lambda = options.lambda ?? 1;
  const kappa = options.confidence ?? 0;
  checkEps(eps);
  checkSteps(steps);
  checkStepSize(stepSize);
  checkBatch(model, x, labels);
  if (!Number.isFinite(lambda) || lambda < 0) {
    throw new AttackOptionsError(`lambda must be a finite number >= 0; got ${String(lambda)}`);
  }
  if (!Number.isFinite(kappa) || kappa < 0) {
    throw new AttackOptionsError(`confidence must be a finite number >= 0; got ${String(kappa)}`);
  }

  /** Per-sample objective and selection key of one forward pass. */
  const evaluate = (xi: tf.Tensor4D): { objective: tf.Tensor1D; key: tf.Tensor1D } => {
    const out = model.forward(xi, { training: false });
    const margin = perSampleMargin(out.logits, labels);
    const logP = perSampleLogPClean(out);
    const clamped = tf.minimum(margin, kappa) as tf.Tensor1D;
    const objective = logP === null ? clamped : (tf.add(clamped, tf.mul(logP, lambda)) as tf.Tensor1D);
    const success = tf.mul(tf.cast(tf.greater(margin, 0), 'float32'), SUCCESS_BONUS);
    const tieBreak = tf.maximum(logP ?? margin, KEY_FLOOR);
    return { objective, key: tf.add(success, tieBreak) as tf.Tensor1D };
  };

  const tracker = new BestIterate();
  let xAdv: tf.Tensor4D = options.randomStart === false ? tf.clone(x) : startNear(x, eps, options.seed ?? 0);
  for (let i = 0; i < steps; i++) {
    const captured: { key?: tf.Tensor1D } = {};
    const grad = tf.grad((xi: tf.Tensor) => {
      const r = evaluate(xi as tf.Tensor4D);
      // The key of this iterate comes from the same forward pass as its gradient.
      captured.key = tf.keep(r.key);
      return tf.sum(r.objective);
    });
    const g = tf.tidy(() => grad(xAdv));
    if (captured.key !== undefined) {
      tracker.consider(xAdv, captured.key);
      captured.key.dispose();
    }
    const next = tf.tidy(() =>
      projectLinf(tf.add(xAdv, tf.mul(tf.sign(g), stepSize)) as tf.Tensor4D, x, eps),
    );
    g.dispose();
    xAdv.dispose();
    xAdv = next;
  }
  const lastKey = tf.tidy(() => evaluate(xAdv).key);
  tracker.consider(xAdv, lastKey);
  lastKey.dispose();
  xAdv.dispose();
  return tracker.take();
}

/** Per-sample best candidate by key (higher wins, first seen wins ties); APGD keeps its adversarial points with it too. */
export class BestIterate {
  private best: tf.Tensor4D | null = null;
  private bestKey: tf.Tensor1D | null = null;

  consider(candidate: tf.Tensor4D, key: tf.Tensor1D): void {
    const prev = this.best;
    const prevKey = this.bestKey;
    if (prev === null || prevKey === null) {
      this.best = tf.clone(candidate);
      this.bestKey = tf.clone(key);
      return;
    }
    [this.best, this.bestKey] = tf.tidy(() => {
      const better = tf.greater(key, prevKey);
      const mask = tf.broadcastTo(tf.reshape(better, [-1, 1, 1, 1]), candidate.shape);
      return [
        tf.where(mask, candidate, prev) as tf.Tensor4D,
        tf.where(better, key, prevKey) as tf.Tensor1D,
      ] as const;
    });
    prev.dispose();
    prevKey.dispose();
  }

  /** The best key per sample, read back. */
  keys(): Float32Array {
    if (this.bestKey === null) throw new Error('no iterate was considered');
    return Float32Array.from(this.bestKey.dataSync());
  }

  take(): tf.Tensor4D {
    if (this.best === null || this.bestKey === null) throw new Error('no iterate was considered');
    this.bestKey.dispose();
    const best = this.best;
    this.best = null;
    this.bestKey = null;
    return best;
  }
}
