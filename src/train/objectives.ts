import * as tf from '@tensorflow/tfjs';
import { crossEntropy, klDivergence } from './losses.js';
import { AR_AT } from './objective-ar-at.js';
import { GAIRAT } from './objective-gairat.js';
import { MARGIN } from './objective-margin.js';
import type { TrainMode } from './modes.js';
import type { TrainingObjective } from './objective.js';

/** pgd-at: L_nat = CE(clean), L_adv = CE(adv), α fixed at 0.5 / 0.5 (the AW-Net paper's Eq. 22 weights). */
const PGD_AT: TrainingObjective = {
  mode: 'pgd-at',
  attackLoss: 'cross-entropy',
  initialAlpha: { alphaNat: 0.5, alphaAdv: 0.5 },
  adaptiveAlpha: false,
  needsTeachers: false,
  countsSurvivedSteps: false,
  terms: ({ cleanLogits, advLogits, labels }) => ({ nat: crossEntropy(cleanLogits, labels), adv: crossEntropy(advLogits, labels) }),
};

/**
 * trades (Zhang et al., ICML 2019): L_nat = CE(clean), L_adv = β·KL(P(clean) ‖ P(adv)) with both
 * sides carrying gradient, α = 1 / 1 so L is exactly the TRADES objective plus L_type.
 */
const TRADES: TrainingObjective = {
  mode: 'trades',
  attackLoss: 'kl-from-clean',
  initialAlpha: { alphaNat: 1, alphaAdv: 1 },
  adaptiveAlpha: false,
  needsTeachers: false,
  countsSurvivedSteps: false,
  terms: ({ cleanLogits, advLogits, labels, params }) => ({
    nat: crossEntropy(cleanLogits, labels),
    adv: tf.mul(klDivergence(cleanLogits, advLogits), params.tradesBeta),
  }),
};

/** mtard (Zhao et al., ECCV 2022): L_nat = KL(T_nat(clean) ‖ S(clean)), L_adv = KL(T_adv(adv) ‖ S(adv)), α adaptive. */
const MTARD: TrainingObjective = {
  mode: 'mtard',
  attackLoss: 'cross-entropy',
  initialAlpha: { alphaNat: 0.5, alphaAdv: 0.5 },
  adaptiveAlpha: true,
  needsTeachers: true,
  countsSurvivedSteps: false,
  terms: ({ cleanLogits, advLogits, signals }) => {
    const { teacherCleanLogits, teacherAdvLogits } = signals;
    if (teacherCleanLogits === undefined || teacherAdvLogits === undefined) {
      throw new Error('mtard needs the clean and the robust teacher logits');
    }
    return { nat: klDivergence(teacherCleanLogits, cleanLogits), adv: klDivergence(teacherAdvLogits, advLogits) };
  },
};

export const OBJECTIVES: Readonly<Record<TrainMode, TrainingObjective>> = Object.freeze({
  'pgd-at': PGD_AT,
  trades: TRADES,
  mtard: MTARD,
  gairat: GAIRAT,
  margin: MARGIN,
  'ar-at': AR_AT,
});
