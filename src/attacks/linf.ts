import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { AttackInputError, AttackOptionsError } from './errors.js';
import type { AttackLoss } from './losses.js';

/**
 * Clips `xAdv` into the L∞ ball of radius eps around `x`, intersected with the pixel
 * range [0, 1]. Bounds are computed once per call so both constraints hold exactly
 * (up to float32 rounding of x ± eps).
 */
export function projectLinf(xAdv: tf.Tensor4D, x: tf.Tensor4D, eps: number): tf.Tensor4D {
  return tf.tidy(() => {
    const lo = tf.maximum(tf.sub(x, eps), 0);
    const hi = tf.minimum(tf.add(x, eps), 1);
    return tf.minimum(tf.maximum(xAdv, lo), hi) as tf.Tensor4D;
  });
}

/** Uniform noise in [−eps, eps] added to x, then projected. Same seed, same start. */
export function randomStart(x: tf.Tensor4D, eps: number, seed: number | string): tf.Tensor4D {
  return tf.tidy(() => {
    const noise = tf.randomUniform(x.shape, -eps, eps, 'float32', seed);
    return projectLinf(tf.add(x, noise) as tf.Tensor4D, x, eps);
  });
}

/** Gradient of `loss` with respect to the input, the model in inference mode. */
export function inputGradient(
  model: Model,
  xAdv: tf.Tensor4D,
  labels: tf.Tensor1D,
  loss: AttackLoss,
): tf.Tensor4D {
  const grad = tf.grad((xi: tf.Tensor) =>
    loss(model.forward(xi as tf.Tensor4D, { training: false }), labels),
  );
  return tf.tidy(() => grad(xAdv) as tf.Tensor4D);
}

/** One signed-gradient ascent step followed by projection. */
export function signStep(
  model: Model,
  x: tf.Tensor4D,
  xAdv: tf.Tensor4D,
  labels: tf.Tensor1D,
  loss: AttackLoss,
  stepSize: number,
  eps: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const g = inputGradient(model, xAdv, labels, loss);
    const moved = tf.add(xAdv, tf.mul(tf.sign(g), stepSize)) as tf.Tensor4D;
    return projectLinf(moved, x, eps);
  });
}

function requireFinite(name: string, value: number, min: number, inclusive: boolean): void {
  const ok = Number.isFinite(value) && (inclusive ? value >= min : value > min);
  if (!ok) {
    throw new AttackOptionsError(
      `${name} must be a finite number ${inclusive ? '>=' : '>'} ${min}; got ${String(value)}`,
    );
  }
}

export function checkEps(eps: number): void {
  requireFinite('eps', eps, 0, true);
  if (eps > 1) throw new AttackOptionsError(`eps must be <= 1 for pixels in [0, 1]; got ${eps}`);
}

export function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new AttackOptionsError(`steps must be an integer >= 1; got ${String(steps)}`);
  }
}

export function checkStepSize(stepSize: number): void {
  requireFinite('stepSize', stepSize, 0, true);
}

/** Checks that x is NHWC in the model's input shape and labels hold one class per row. */
export function checkBatch(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D): void {
  const { height, width, channels } = model.config.input;
  const [n, h, w, c] = x.shape;
  if (x.rank !== 4 || h !== height || w !== width || c !== channels) {
    throw new AttackInputError(
      `x must have shape [N, ${height}, ${width}, ${channels}] (NHWC); got [${x.shape.join(', ')}]`,
    );
  }
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new AttackInputError(
      `labels must have shape [${n}] to match x; got [${labels.shape.join(', ')}]`,
    );
  }
}
