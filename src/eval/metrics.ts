import { EvalError } from './errors.js';

/** Fraction of rows whose prediction equals the label. */
export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predictions.length !== labels.length) {
    throw new EvalError(
      'EVAL_BAD_INPUT',
      `predictions and labels differ in length: ${predictions.length} vs ${labels.length}`,
    );
  }
  if (labels.length === 0) throw new EvalError('EVAL_BAD_INPUT', 'accuracy of zero examples is undefined');
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / labels.length;
}

/**
 * W-Robust Acc of the AW-Net paper: the mean of natural and adversarial accuracy, one
 * figure for the trade-off between the two.
 */
export function wRobustAccuracy(natural: number, adversarial: number): number {
  for (const [name, v] of [['natural', natural], ['adversarial', adversarial]] as const) {
    if (!Number.isFinite(v) || v < 0 || v > 1) {
      throw new EvalError('EVAL_BAD_INPUT', `${name} accuracy must be in [0, 1]; got ${String(v)}`);
    }
  }
  return (natural + adversarial) / 2;
}
