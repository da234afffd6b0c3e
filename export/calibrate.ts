import * as tf from '@tensorflow/tfjs';
import type { Model } from '../src/model/types.js';
import { ExportError } from './errors.js';

/** The export's default target false-positive rate of the flagging threshold. */
export const DEFAULT_FPR = 0.01;

export interface Threshold {
  /** Flag an image when its adversarial_score is strictly above this value. */
  readonly value: number;
  readonly targetFpr: number;
  /** Fraction of the calibration scores above `value` (≤ targetFpr by construction). */
  readonly observedFpr: number;
  readonly calibrationImages: number;
}

/**
 * Images a threshold for this target FPR needs before it means much: 10/fpr, so that about ten
 * calibration images lie above it. With fewer, the threshold rests on a handful of scores (or,
 * under 1/fpr, on the highest one alone) and the served false-positive rate is a guess.
 */
export function minimumCalibrationImages(targetFpr: number): number {
  return Math.ceil(10 / targetFpr - 1e-9);
}

/** The loud warning for a threshold calibrated on too few images, or null when there are enough. */
export function calibrationWarning(images: number, targetFpr: number): string | null {
  const minimum = minimumCalibrationImages(targetFpr);
  if (images >= minimum) return null;
  return (
    `WARNING: the flagging threshold is calibrated on only ${images} clean images; a target FPR of ${targetFpr} ` +
    `needs at least ${minimum} (10/FPR) for the served false-positive rate to be near it. ` +
    'Calibrate on more validation images (--calibration-size, --val-size) or choose a larger --fpr.'
  );
}

/**
 * A threshold that flags at most ⌊fpr·n⌋ of the given clean scores: the (1 − fpr) empirical
 * quantile, taken as an order statistic so that ties cannot push the false-positive rate on
 * the calibration set above the target. It is placed midway between the highest score left
 * unflagged and the next one up, so the float32 differences between the runtime that
 * calibrated (tfjs) and the one that serves (onnxruntime) cannot flip a calibration image.
 */
export function thresholdForFpr(scores: Float32Array | readonly number[], targetFpr: number): Threshold {
  if (!(targetFpr > 0 && targetFpr < 1)) {
    throw new ExportError('EXPORT_BAD_OPTION', `target false-positive rate ${targetFpr} is invalid: expected a number in (0, 1)`);
  }
  const n = scores.length;
  if (n === 0) throw new ExportError('EXPORT_CALIBRATION_FAILED', 'no calibration scores: the calibration set is empty');
  const sorted = Float64Array.from(scores).sort();
  for (const s of sorted) {
    if (!Number.isFinite(s)) throw new ExportError('EXPORT_CALIBRATION_FAILED', `calibration produced a non-finite adversarial score (${s})`);
  }
  const allowed = Math.floor(targetFpr * n);
  const kept = sorted[n - 1 - allowed] as number;
  // With fewer than 1/fpr images nothing may be flagged: the highest score is the threshold.
  const value = Math.min(1, Math.max(0, allowed > 0 ? (kept + (sorted[n - allowed] as number)) / 2 : kept));
  let above = 0;
  for (const s of sorted) if (s > value) above++;
  return { value, targetFpr, observedFpr: above / n, calibrationImages: n };
}

/**
 * The model's adversarial score, 1 − P(clean), for NHWC images in [0, 1], computed
 * in inference mode batch by batch. A model without a router scores 0.
 */
export function adversarialScores(model: Model, images: Float32Array, count: number, batchSize = 256): Float32Array {
  const { height, width, channels } = model.config.input;
  const per = height * width * channels;
  if (images.length !== count * per) {
    throw new ExportError(
      'EXPORT_CALIBRATION_FAILED',
      `calibration images hold ${images.length} values, expected ${count} × ${height}×${width}×${channels} = ${count * per}`,
    );
  }
  const out = new Float32Array(count);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const score = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * per, (start + n) * per), [n, height, width, channels]);
      const result = model.forward(x, { training: false });
      return result.pClean ? tf.sub(1, result.pClean) : tf.zeros([n]);
    });
    // Read outside tidy: tidy walks every element of a returned typed array.
    out.set(score.dataSync() as Float32Array, start);
    score.dispose();
  }
  return out;
}
