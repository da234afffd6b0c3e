import * as tf from '@tensorflow/tfjs';
import type { ForwardResult } from '../model/types.js';
import { typeLoss } from './losses.js';
import type { TrainMode } from './modes.js';
import { OBJECTIVES } from './objectives.js';

/**
 * docs/design.md, Eq. 22: L = L_type(P_type, y') + α_adv·L_adv + α_nat·L_nat, evaluated on one
 * training forward over [clean; adversarial] (the first `cleanCount` rows clean). Each mode is a
 * TrainingObjective that defines L_nat and L_adv (objectives.ts); the static baseline has no
 * router, hence no L_type.
 */

/** The objectives' numeric settings, carried unchanged from the command line to every worker (defaults: OBJECTIVE_DEFAULTS, modes.ts). */
export interface ObjectiveParams {
  /** TRADES' β. */
  readonly tradesBeta: number;
  /** GAIRAT's λ (the weight curve's shift); default OBJECTIVE_DEFAULTS.gairatLambda. */
  readonly gairatLambda?: number;
  /** Weight μ of the average-margin regulariser; default OBJECTIVE_DEFAULTS.marginWeight. */
  readonly marginWeight?: number;
  /** The logit margin τ up to which the regulariser pushes; default OBJECTIVE_DEFAULTS.marginCap. */
  readonly marginCap?: number;
  /** AR-AT's γ, the weight of the asymmetric invariance term; default OBJECTIVE_DEFAULTS.arAtWeight. */
  readonly arAtWeight?: number;
}


/** What one step hands an objective besides the forward: teacher logits and the attack's per-row counts. */
export interface StepSignals {
  /** MTARD: the clean teacher's logits on the clean rows, the robust teacher's on the adv rows. */
  readonly teacherCleanLogits?: tf.Tensor2D;
  readonly teacherAdvLogits?: tf.Tensor2D;
  /** GAIRAT: κ of each adversarial row (AdversarialRows.kappa) and the attack's step count K. */
  readonly kappa?: tf.Tensor1D;
  readonly attackSteps?: number;
  /** GAIRAT: false during the burn-in, when every row weighs the same; default true. */
  readonly reweight?: boolean;
}

/** The pieces an objective's terms are made of. */
export interface ObjectiveParts {
  readonly out: ForwardResult;
  readonly cleanLogits: tf.Tensor2D;
  readonly advLogits: tf.Tensor2D;
  readonly labels: tf.Tensor1D;
  readonly cleanCount: number;
  readonly params: ObjectiveParams;
  readonly signals: StepSignals;
}

/** What the training attack ascends: the cross-entropy on the labels, or KL(P(clean) ‖ P(x_adv)) (TRADES). */
export type AttackLoss = 'cross-entropy' | 'kl-from-clean';

/** One training mode: its two loss terms and what the rest of a step needs to know about it. */
export interface TrainingObjective {
  readonly mode: TrainMode;
  readonly attackLoss: AttackLoss;
  /** The α it starts from. */
  readonly initialAlpha: { readonly alphaNat: number; readonly alphaAdv: number };
  /** α follows MTARD's adaptive rule after every step (else it stays at initialAlpha). */
  readonly adaptiveAlpha: boolean;
  /** Needs the clean and the robust teacher (StepSignals.teacher*Logits). */
  readonly needsTeachers: boolean;
  /** Needs κ, the attack iterates each row survived (StepSignals.kappa). */
  readonly countsSurvivedSteps: boolean;
  /** Trains a predictor head on the pooled features (ArchConfig.predictor) and reads ForwardResult.embedding / .prediction. */
  readonly usesPredictor?: boolean;
  terms(parts: ObjectiveParts): { readonly nat: tf.Scalar; readonly adv: tf.Scalar };
}

export interface ObjectiveInputs extends ObjectiveParams, StepSignals {
  readonly mode: TrainMode;
  readonly out: ForwardResult;
  readonly labels: tf.Tensor1D;
  readonly cleanCount: number;
  readonly alphaNat: number;
  readonly alphaAdv: number;
  /** Label smoothing of the router's type targets (typeLoss); default 0. */
  readonly typeSmoothing?: number;
}

export interface ObjectiveTerms {
  readonly total: tf.Scalar;
  readonly type: tf.Scalar;
  readonly nat: tf.Scalar;
  readonly adv: tf.Scalar;
}

export function objectiveFor(mode: TrainMode): TrainingObjective {
  return OBJECTIVES[mode];
}

export function objective(inputs: ObjectiveInputs): ObjectiveTerms {
  const { out, labels, cleanCount } = inputs;
  const n = out.logits.shape[0];
  const cleanLogits = tf.slice(out.logits, [0, 0], [cleanCount, -1]) as tf.Tensor2D;
  const advLogits = tf.slice(out.logits, [cleanCount, 0], [n - cleanCount, -1]) as tf.Tensor2D;
  const { nat, adv } = objectiveFor(inputs.mode).terms({ out, cleanLogits, advLogits, labels, cleanCount, params: inputs, signals: inputs });
  const type = out.typeLogits !== null ? typeLoss(out.typeLogits, cleanCount, inputs.typeSmoothing ?? 0) : tf.scalar(0);
  const total = tf.addN([type, tf.mul(adv, inputs.alphaAdv), tf.mul(nat, inputs.alphaNat)]) as tf.Scalar;
  return { total, type, nat, adv };
}

/** The α a mode starts from (fixed for every mode but MTARD, whose rule moves it). */
export function initialAlpha(mode: TrainMode): { alphaNat: number; alphaAdv: number } {
  return { ...objectiveFor(mode).initialAlpha };
}
