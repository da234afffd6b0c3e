import type * as tf from '@tensorflow/tfjs';
import { adaptiveAttack, ADAPTIVE_DEFAULT_STEPS } from '../attacks/adaptive.js';
import { cwInf, CW_DEFAULT_STEPS } from '../attacks/cw.js';
import { fgsm } from '../attacks/fgsm.js';
import { pgd } from '../attacks/pgd.js';
import type { Model } from '../model/types.js';
import { EvalError } from './errors.js';

/** The attack's settings as they are reported (JSON-friendly). */
export interface AttackParams {
  readonly kind: 'fgsm' | 'pgd' | 'cw' | 'adaptive';
  readonly eps: number;
  readonly steps: number;
  readonly stepSize: number;
  readonly randomStart: boolean;
  readonly loss: string;
  readonly lambda?: number;
}

export interface AttackSpec {
  /** Stable identifier used in JSON and on the command line. */
  readonly id: string;
  /** Column heading in the table. */
  readonly label: string;
  readonly params: AttackParams;
  run(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, seed: string): tf.Tensor4D;
}

export const ATTACK_IDS = ['fgsm', 'pgd20-s4', 'pgd20-s10', 'cw30', 'adaptive'] as const;
export type AttackId = (typeof ATTACK_IDS)[number];

/**
 * The evaluation protocol of the AW-Net paper at one eps: FGSM, PGD-20 with step eps/4
 * and with step eps/10, CW∞ with 30 steps, and the adaptive attack on the router.
 */
export function attackSuite(eps: number, options: { adaptiveLambda?: number } = {}): AttackSpec[] {
  const lambda = options.adaptiveLambda ?? 1;
  const pgdSpec = (id: AttackId, label: string, stepSize: number): AttackSpec => ({
    id,
    label,
    params: { kind: 'pgd', eps, steps: 20, stepSize, randomStart: true, loss: 'ce' },
    run: (model, x, labels, seed) => pgd(model, x, labels, { eps, steps: 20, stepSize, randomStart: true, seed }),
  });
  return [
    {
      id: 'fgsm',
      label: 'FGSM',
      params: { kind: 'fgsm', eps, steps: 1, stepSize: eps, randomStart: false, loss: 'ce' },
      run: (model, x, labels) => fgsm(model, x, labels, { eps }),
    },
    pgdSpec('pgd20-s4', 'PGD-20 ε/4', eps / 4),
    pgdSpec('pgd20-s10', 'PGD-20 ε/10', eps / 10),
    {
      id: 'cw30',
      label: 'CW∞-30',
      params: { kind: 'cw', eps, steps: CW_DEFAULT_STEPS, stepSize: eps / 4, randomStart: true, loss: 'cw-margin' },
      run: (model, x, labels, seed) => cwInf(model, x, labels, { eps, seed }),
    },
    {
      id: 'adaptive',
      label: 'Adaptive',
      params: {
        kind: 'adaptive',
        eps,
        steps: ADAPTIVE_DEFAULT_STEPS,
        stepSize: eps / 4,
        randomStart: true,
        loss: 'min(cw-margin, 0) + λ·log P(clean)',
        lambda,
      },
      run: (model, x, labels, seed) => adaptiveAttack(model, x, labels, { eps, lambda, seed }),
    },
  ];
}

/** Keeps the attacks named in `ids` (in the suite's order); unknown names are an error. */
export function selectAttacks(suite: readonly AttackSpec[], ids: readonly string[] | undefined): AttackSpec[] {
  if (ids === undefined) return [...suite];
  const known = new Set(suite.map((a) => a.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new EvalError(
      'EVAL_BAD_OPTION',
      `unknown attack ${unknown.map((u) => `"${u}"`).join(', ')}; valid attacks: ${[...known].join(', ')}`,
    );
  }
  return suite.filter((a) => ids.includes(a.id));
}

/** The attack behind each point of the robustness curve: PGD with step eps/4. */
export function curveAttack(eps: number, steps: number): AttackSpec {
  const stepSize = eps / 4;
  return {
    id: `pgd${steps}-curve`,
    label: `curve PGD-${steps} at ε=${Number(eps.toPrecision(4))}`,
    params: { kind: 'pgd', eps, steps, stepSize, randomStart: true, loss: 'ce' },
    run: (model, x, labels, seed) => pgd(model, x, labels, { eps, steps, stepSize, randomStart: true, seed }),
  };
}
