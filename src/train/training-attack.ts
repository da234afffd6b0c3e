import * as tf from '@tensorflow/tfjs';
import { perSampleCrossEntropy, perSampleLogPClean } from '../attacks/losses.js';
import { projectLinf } from '../attacks/linf.js';
import { Rng } from '../data/rng.js';
import type { ForwardResult, Model } from '../model/types.js';
import { perSampleKl } from './losses.js';
import type { TrainMode } from './modes.js';
import { objectiveFor } from './objective.js';

/**
 * How training examples are attacked. All three are signed-gradient ascent from a uniform
 * random start; they differ in start width, step, step count and whether the result is
 * projected back into the eps-ball:
 * - `pgd`: L∞ PGD, start U(−eps, eps), `steps` steps, projection after each.
 * - `fgsm-rs`: FGSM with random start (Wong, Rice & Kolter, ICLR 2020): start U(−eps, eps),
 *   one step of 1.25·eps, projected.
 * - `n-fgsm`: N-FGSM (de Jorge et al., NeurIPS 2022): start U(−2·eps, 2·eps), one step of
 *   eps, no projection (perturbations up to 3·eps), only the pixel range is kept.
 */
export type TrainingAttackName = 'pgd' | 'fgsm-rs' | 'n-fgsm';

export const TRAINING_ATTACKS: readonly TrainingAttackName[] = ['pgd', 'fgsm-rs', 'n-fgsm'];

export interface TrainingAttack {
  readonly name: TrainingAttackName;
  readonly eps: number;
  readonly steps: number;
  readonly stepSize: number;
  /** Half-width of the uniform random start. */
  readonly noise: number;
  /** Project every iterate back into the eps-ball around the clean image. */
  readonly project: boolean;
}

/** An attack with its literature defaults; `steps`, `stepSize` and `noise` override them. */
export function trainingAttack(
  name: TrainingAttackName,
  eps: number,
  overrides: { readonly steps?: number; readonly stepSize?: number; readonly noise?: number } = {},
): TrainingAttack {
  switch (name) {
    case 'pgd': {
      const steps = overrides.steps ?? 5;
      // Madry's 2.5·eps/steps, but never above eps/2: with fewer steps a larger step lands almost
      // every pixel on a corner of the ball, a signature the router learns instead of the attack
      // and a path to catastrophic overfitting (docs/training.md, "Step size and β").
      const stepSize = overrides.stepSize ?? Math.min((2.5 * eps) / steps, eps / 2);
      return { name, eps, steps, stepSize, noise: overrides.noise ?? eps, project: true };
    }
    case 'fgsm-rs':
      return { name, eps, steps: 1, stepSize: overrides.stepSize ?? 1.25 * eps, noise: overrides.noise ?? eps, project: true };
    case 'n-fgsm':
      return { name, eps, steps: 1, stepSize: overrides.stepSize ?? eps, noise: overrides.noise ?? 2 * eps, project: false };
  }
}

/**
 * Router-aware training examples. The first `share` of each batch's adversarial rows are
 * made by an attacker who also drives the router towards "clean": the per-row objective
 * gains λ·log P(clean), λ drawn from `lambdas`. Those rows are labelled adversarial for the
 * type head (so the router learns to see through them) and, in MixBN variants, train the
 * clean-statistics path (so the network still classifies them when the router is fooled and
 * mixes towards BN_clean). The other rows are ordinary adversarial examples through BN_adv.
 */
export interface RouterEvasion {
  readonly share: number;
  readonly lambdas: readonly number[];
  /**
   * Which ω scales the filters of a router-evading row in training: its own (what the router
   * makes of the attack), or that of its clean image — the filters a fooled router would
   * choose, so the network learns to classify the attack in the mode the attacker aims for.
   * Default 'own'.
   */
  readonly omega?: EvasionOmega;
  /**
   * Signed-gradient step of the evading rows (default: the attack's). A large step lets the
   * evading rows beat the router outright, so the type head learns nothing from them; a small
   * one keeps them detectable while the other rows are attacked with the full step.
   */
  readonly stepSize?: number;
}

export type EvasionOmega = 'own' | 'clean';
export const EVASION_OMEGAS: readonly EvasionOmega[] = ['own', 'clean'];

export const NO_EVASION: RouterEvasion = { share: 0, lambdas: [] };

/** Rows of a batch of `n` adversarial examples that are router-evading. */
export function evadingRows(n: number, evasion: RouterEvasion, hasRouter: boolean): number {
  if (!hasRouter || evasion.lambdas.length === 0) return 0;
  return Math.min(n, Math.round(n * evasion.share));
}

/** The step per row: `evading` rows take the evasion's step (when it has one), the rest the attack's. */
export function rowStepSizes(n: number, evading: number, attack: TrainingAttack, evasion: RouterEvasion): Float32Array {
  const out = new Float32Array(n).fill(attack.stepSize);
  if (evasion.stepSize !== undefined) out.fill(evasion.stepSize, 0, evading);
  return out;
}

/** λ per row: drawn from the list for the first `evading` rows, 0 for the rest. */
export function rowLambdas(n: number, evading: number, lambdas: readonly number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < evading; i++) out[i] = lambdas[rng.int(lambdas.length)]!;
  return out;
}

export interface AdversarialRows {
  /** The adversarial examples, same shape as the clean batch. */
  readonly xAdv: tf.Tensor4D;
  /** Leading rows of xAdv that are router-evading (they train the clean-statistics path). */
  readonly evading: number;
  /**
   * Per row, how many of the attack's iterates (the random start included, the final one not)
   * the model still classified correctly: GAIRAT's κ, in [0, steps]. Null unless the mode's
   * objective asks for it (TrainingObjective.countsSurvivedSteps).
   */
  readonly kappa: Float32Array | null;
}

/**
 * The adversarial half of a training batch, against the whole model in inference mode.
 * Each mode's attack ascends its objective's AttackLoss: the cross-entropy on the labels, or
 * (TRADES) KL(P(x) ‖ P(x_adv)); rows
 * with λ > 0 add λ·log P(clean). Deterministic for a given seed.
 */
export function adversarialRows(
  model: Model,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  mode: TrainMode,
  attack: TrainingAttack,
  evasion: RouterEvasion,
  seed: number,
): AdversarialRows {
  const n = x.shape[0];
  const hasRouter = model.config.variant !== 'static';
  const evading = evadingRows(n, evasion, hasRouter);
  const lambdas = evading > 0 ? tf.tensor1d(rowLambdas(n, evading, evasion.lambdas, seed ^ 0x5a5a)) : null;
  const ownStep = evading > 0 && evasion.stepSize !== undefined && evasion.stepSize !== attack.stepSize;
  const step: tf.Tensor | number = ownStep ? tf.tensor4d(rowStepSizes(n, evading, attack, evasion), [n, 1, 1, 1]) : attack.stepSize;
  const modeObjective = objectiveFor(mode);
  const cleanLogits = modeObjective.attackLoss === 'kl-from-clean' ? tf.tidy(() => model.forward(x, { training: false }).logits) : null;
  // κ is read from the forward each gradient already runs, so counting costs no extra pass.
  const kappa = modeObjective.countsSurvivedSteps ? new Float32Array(n) : null;
  const last: { survived: tf.Tensor1D | null } = { survived: null };
  const objective = (out: ForwardResult): tf.Scalar =>
    tf.tidy(() => {
      if (kappa !== null) last.survived = tf.keep(tf.cast(tf.equal(tf.argMax(out.logits, 1), tf.cast(labels, 'int32')), 'float32') as tf.Tensor1D);
      const main = cleanLogits !== null ? perSampleKl(cleanLogits, out.logits) : perSampleCrossEntropy(out.logits, labels);
      const logP = lambdas !== null ? perSampleLogPClean(out) : null;
      return tf.sum(logP === null ? main : tf.add(main, tf.mul(lambdas!, logP))) as tf.Scalar;
    });
  try {
    let xAdv = tf.tidy(() => {
      const start = tf.add(x, tf.randomUniform(x.shape, -attack.noise, attack.noise, 'float32', seed)) as tf.Tensor4D;
      return attack.project ? projectLinf(start, x, attack.eps) : (tf.clipByValue(start, 0, 1) as tf.Tensor4D);
    });
    const grad = tf.grad((xi: tf.Tensor) => objective(model.forward(xi as tf.Tensor4D, { training: false })));
    for (let i = 0; i < attack.steps; i++) {
      const next = tf.tidy(() => {
        const g = grad(xAdv);
        if (kappa !== null && last.survived !== null) {
          const rows = last.survived.dataSync();
          for (let r = 0; r < n; r++) kappa[r]! += rows[r]!;
          last.survived.dispose();
          last.survived = null;
        }
        const moved = tf.add(xAdv, tf.mul(tf.sign(g), step)) as tf.Tensor4D;
        return attack.project ? projectLinf(moved, x, attack.eps) : (tf.clipByValue(moved, 0, 1) as tf.Tensor4D);
      });
      xAdv.dispose();
      xAdv = next;
    }
    return { xAdv, evading, kappa };
  } finally {
    lambdas?.dispose();
    if (typeof step !== 'number') step.dispose();
    cleanLogits?.dispose();
  }
}
