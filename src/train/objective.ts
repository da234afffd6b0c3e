import * as tf from '@tensorflow/tfjs';
import type { ForwardResult } from '../model/types.js';
import { crossEntropy, klDivergence, typeLoss } from './losses.js';
import type { TrainMode } from './modes.js';

/**
 * docs/design.md, Eq. 22: L = L_type(P_type, y') + α_adv·L_adv + α_nat·L_nat, evaluated on one
 * training forward over [clean; adversarial] (the first `cleanCount` rows clean).
 * - pgd-at: L_nat = CE(clean), L_adv = CE(adv), α fixed at 0.5 / 0.5.
 * - trades: L_nat = CE(clean), L_adv = β·KL(P(clean) ‖ P(adv)) with both sides carrying
 *   gradient as in TRADES, α = 1 / 1 so L is exactly the TRADES objective plus L_type.
 * - mtard: L_nat = KL(T_nat(clean) ‖ S(clean)), L_adv = KL(T_adv(adv) ‖ S(adv)), α adaptive.
 * The static baseline has no router, hence no L_type.
 */
export interface ObjectiveInputs {
  readonly mode: TrainMode;
  readonly out: ForwardResult;
  readonly labels: tf.Tensor1D;
  readonly cleanCount: number;
  readonly alphaNat: number;
  readonly alphaAdv: number;
  /** TRADES' β. */
  readonly tradesBeta: number;
  /** Label smoothing of the router's type targets (typeLoss); default 0. */
  readonly typeSmoothing?: number;
  /** MTARD: the clean teacher's logits on the clean rows, the robust teacher's on the adv rows. */
  readonly teacherCleanLogits?: tf.Tensor2D;
  readonly teacherAdvLogits?: tf.Tensor2D;
}

export interface ObjectiveTerms {
  readonly total: tf.Scalar;
  readonly type: tf.Scalar;
  readonly nat: tf.Scalar;
  readonly adv: tf.Scalar;
}

export function objective(inputs: ObjectiveInputs): ObjectiveTerms {
  const { out, labels, cleanCount } = inputs;
  const n = out.logits.shape[0];
  const cleanLogits = tf.slice(out.logits, [0, 0], [cleanCount, -1]) as tf.Tensor2D;
  const advLogits = tf.slice(out.logits, [cleanCount, 0], [n - cleanCount, -1]) as tf.Tensor2D;
  let nat: tf.Scalar;
  let adv: tf.Scalar;
  switch (inputs.mode) {
    case 'pgd-at':
      nat = crossEntropy(cleanLogits, labels);
      adv = crossEntropy(advLogits, labels);
      break;
    case 'trades':
      nat = crossEntropy(cleanLogits, labels);
      adv = tf.mul(klDivergence(cleanLogits, advLogits), inputs.tradesBeta);
      break;
    case 'mtard': {
      const { teacherCleanLogits, teacherAdvLogits } = inputs;
      if (teacherCleanLogits === undefined || teacherAdvLogits === undefined) {
        throw new Error('mtard needs the clean and the robust teacher logits');
      }
      nat = klDivergence(teacherCleanLogits, cleanLogits);
      adv = klDivergence(teacherAdvLogits, advLogits);
      break;
    }
  }
  const type = out.typeLogits !== null ? typeLoss(out.typeLogits, cleanCount, inputs.typeSmoothing ?? 0) : tf.scalar(0);
  const total = tf.addN([type, tf.mul(adv, inputs.alphaAdv), tf.mul(nat, inputs.alphaNat)]) as tf.Scalar;
  return { total, type, nat, adv };
}

/** The α a mode starts from: fixed for pgd-at and trades, MTARD's starting point otherwise. */
export function initialAlpha(mode: TrainMode): { alphaNat: number; alphaAdv: number } {
  return mode === 'trades' ? { alphaNat: 1, alphaAdv: 1 } : { alphaNat: 0.5, alphaAdv: 0.5 };
}
