import type { RouterHold } from '../model/types.js';
import type { Corruption } from '../data/corruptions.js';
import type { AttackParams } from './attack-suite.js';
import type { CurvePoint } from './robustness-curve.js';

/**
 * The flagging threshold a model was measured with: an image is flagged when its
 * adversarial score (1 − P(clean)) is strictly above `value`.
 * - calibrated: as `export` sets it, on the clean validation images the training run held out
 * - given: `--threshold <number>`
 * - exported-model: from the metadata of an exported model (`--threshold <file>`)
 * - no-router: a model without a router flags nothing (its exported score is a constant 0)
 */
export interface ThresholdReport {
  readonly value: number;
  readonly source: 'calibrated' | 'given' | 'exported-model' | 'no-router';
  /** Calibration figures (calibrated and exported-model), else null. */
  readonly targetFpr: number | null;
  readonly observedFpr: number | null;
  readonly calibrationImages: number | null;
  readonly calibrationDataset: string | null;
  /** Which clean images, as the exported metadata words it. */
  readonly calibrationSplit: string | null;
  /** The exported model read (exported-model), else null. */
  readonly file: string | null;
}

/** A benign change's figures on all evaluated images. */
export interface BenignResult {
  readonly id: string;
  readonly label: string;
  readonly corruption: Corruption;
  readonly accuracy: number;
  /** Fraction flagged at the model's threshold: false alarms on benign traffic. */
  readonly flagRate: number;
  /** Mean adversarial score; null without a router. */
  readonly meanAdversarialScore: number | null;
}

/** The per-image worst case over a set of attacks, on the attacked images. */
export interface WorstCaseResult {
  /** Ids of the attacks it spans. */
  readonly attacks: readonly string[];
  /** Robust accuracy: images classified correctly under every one of those attacks. */
  readonly accuracy: number;
  /** Images for which at least one attack's example is misclassified and not flagged. */
  readonly getsThrough: number;
  /** (clean accuracy on the attacked images + `accuracy`) / 2. */
  readonly wRobust: number;
}

/** One part of a composite attack (a step of AutoAttack's cascade) or a query attack's cost, over all attacked images. */
export interface PartResult {
  readonly id: string;
  readonly label: string;
  /** Images it ran on: those still robust when its turn came. */
  readonly attacked: number;
  /** Robust accuracy after it: attacked images that it and every part before it failed to fool. */
  readonly accuracy: number;
  readonly seconds: number;
  /** Oracle queries it made (score-based attacks), else null. */
  readonly queries: number | null;
}

/** One attack's figures for one model. Accuracies are fractions in [0, 1]. */
export interface AttackResult {
  readonly id: string;
  readonly label: string;
  readonly params: AttackParams;
  /** A_adv: accuracy on the adversarial examples. */
  readonly accuracy: number;
  /** W-Robust Acc = (A_nat + A_adv) / 2, A_nat on the attacked images. */
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
  /** Fraction of the adversarial examples flagged at the model's threshold. */
  readonly flagRate: number;
  /** Fraction of the adversarial examples misclassified and not flagged. */
  readonly getsThrough: number;
  readonly seconds: number;
  /** AutoAttack's parts in the order they ran, or a query attack's cost; absent for other attacks. */
  readonly parts?: readonly PartResult[];
}

export interface ModelReport {
  /** Display name (the checkpoint's file name unless given). */
  readonly name: string;
  readonly checkpoint: string;
  readonly preset: string;
  readonly variant: string;
  /** The router's hold the model ran under (P(clean) cap and ω bound; cap 1 and null: none). */
  readonly hold: RouterHold;
  /** A_nat: clean accuracy on all evaluated images. */
  readonly cleanAccuracy: number;
  /** Fraction of the clean images flagged at `threshold`: the false-alarm rate. */
  readonly cleanFlagRate: number;
  /** Clean accuracy on the attacked images (the first `attackCount`): the A_nat of every W-Robust figure. */
  readonly attackedCleanAccuracy: number;
  /** Mean adversarial score on the clean images; null without a router. */
  readonly meanCleanAdversarialScore: number | null;
  readonly threshold: ThresholdReport;
  /** Benign changes on all evaluated images; empty when not asked for. */
  readonly benign: readonly BenignResult[];
  readonly attacks: readonly AttackResult[];
  /** Null when no attack ran. */
  readonly worstCase: WorstCaseResult | null;
  /** Accuracy against eps on the attacked images; eps 0 is their clean accuracy. Empty when not asked for. */
  readonly curve: readonly CurvePoint[];
  readonly seconds: number;
}

export interface EvaluationReport {
  readonly dataset: string;
  readonly split: string;
  /** Test images evaluated clean and under the benign changes (the first `count`). */
  readonly count: number;
  /** Of those, the first `attackCount` are attacked (attacks, worst case, robustness curve). */
  readonly attackCount: number;
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
