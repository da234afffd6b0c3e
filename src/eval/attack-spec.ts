import type * as tf from '@tensorflow/tfjs';
import type { CascadeResult } from '../attacks/autoattack.js';
import type { Model } from '../model/types.js';

/** The attack's settings as they are reported (JSON-friendly). */
export interface AttackParams {
  readonly kind: 'fgsm' | 'pgd' | 'cw' | 'adaptive' | 'autoattack' | 'apgd-adaptive' | 'square-adaptive';
  readonly eps: number;
  /** Iterations; for a Square Attack its query budget per image. */
  readonly steps: number;
  /** The (initial, for APGD) step size. */
  readonly stepSize: number;
  readonly randomStart: boolean;
  readonly loss: string;
  readonly lambda?: number;
  /** AutoAttack's version (`standard` or `fast`) for the AutoAttack family. */
  readonly version?: string;
  /** APGD-T target classes and restarts, FAB-T iterations and targets, Square queries per image. */
  readonly targets?: number;
  readonly restarts?: number;
  readonly fabSteps?: number;
  readonly fabTargets?: number;
  readonly queries?: number;
}

/** An attack that reports how its parts did (AutoAttack's cascade, a query attack's queries). */
export type AttackOutcome = CascadeResult;

export interface AttackSpec {
  /** Stable identifier used in JSON and on the command line. */
  readonly id: string;
  /** Column heading in the table. */
  readonly label: string;
  readonly params: AttackParams;
  /** Runs only when named: left out of the default list (the AutoAttack family, being costly). */
  readonly optIn?: boolean;
  /** Progress weight in gradient passes; default steps + 1. */
  readonly cost?: number;
  /** `onPart` is told the label of each part of a composite attack as it starts. */
  run(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, seed: string, onPart?: (label: string) => void): tf.Tensor4D | Promise<AttackOutcome>;
}
