import type { AttackParams } from './attack-suite.js';
import type { CurvePoint } from './robustness-curve.js';

/** One attack's figures for one model. Accuracies are fractions in [0, 1]. */
export interface AttackResult {
  readonly id: string;
  readonly label: string;
  readonly params: AttackParams;
  /** A_adv: accuracy on the adversarial examples. */
  readonly accuracy: number;
  /** W-Robust Acc = (A_nat + A_adv) / 2. */
  readonly wRobust: number;
  /**
   * ROC-AUC of the router's adversarial score (1 − P(clean)) separating the clean test
   * images from their adversarial versions (all of them, successful or not); null for a
   * model without a router.
   */
  readonly auc: number | null;
  /** Mean adversarial score on the adversarial examples; null without a router. */
  readonly meanAdversarialScore: number | null;
  /** Of the images classified correctly when clean, the fraction the attack turns wrong. */
  readonly successRate: number;
  readonly seconds: number;
}

export interface ModelReport {
  /** Display name (the checkpoint's file name unless given). */
  readonly name: string;
  readonly checkpoint: string;
  readonly preset: string;
  readonly variant: string;
  /** A_nat: clean accuracy. */
  readonly cleanAccuracy: number;
  /** Mean adversarial score on the clean images; null without a router. */
  readonly meanCleanAdversarialScore: number | null;
  readonly attacks: readonly AttackResult[];
  /** Accuracy against eps; eps 0 is the clean accuracy. Empty when not asked for. */
  readonly curve: readonly CurvePoint[];
  readonly seconds: number;
}

export interface EvaluationReport {
  readonly dataset: string;
  readonly split: string;
  /** Number of test images evaluated. */
  readonly count: number;
  readonly eps: number;
  readonly seed: number;
  readonly batchSize: number;
  readonly backend: string;
  /** How the robustness curve was made, e.g. "PGD-10 ε/4"; null when not made. */
  readonly curveAttack: string | null;
  readonly models: readonly ModelReport[];
  readonly createdAt: string;
  readonly seconds: number;
}
