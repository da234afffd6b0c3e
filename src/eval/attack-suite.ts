import { adaptiveAttack, ADAPTIVE_DEFAULT_STEPS } from '../attacks/adaptive.js';
import { cwInf, CW_DEFAULT_STEPS } from '../attacks/cw.js';
import { fgsm } from '../attacks/fgsm.js';
import { pgd } from '../attacks/pgd.js';
import type { AttackSpec } from './attack-spec.js';
import { AUTOATTACK_PRESETS, autoAttackSpecs } from './autoattack-suite.js';
import { EvalError } from './errors.js';

export type { AttackOutcome, AttackParams, AttackSpec } from './attack-spec.js';

export const ATTACK_IDS = ['fgsm', 'pgd20-s4', 'pgd20-s10', 'cw30', 'adaptive'] as const;
export type AttackId = (typeof ATTACK_IDS)[number];

/**
 * Named attack lists. `target` is what the product's headline robustness target is stated
 * against: PGD-20 ε/4, CW∞-30 and the adaptive attack, by default at λ 1 and 10.
 */
export const ATTACK_PRESETS: Readonly<Record<string, readonly string[]>> = { target: ['pgd20-s4', 'cw30', 'adaptive'], ...AUTOATTACK_PRESETS };
export const TARGET_ADAPTIVE_LAMBDAS: readonly number[] = [1, 10];
export const DEFAULT_ADAPTIVE_LAMBDAS: readonly number[] = [1];

const lambdaText = (lambda: number): string => String(Number(lambda.toPrecision(6)));

/**
 * The adaptive attack's id: `adaptive` when it runs at one λ (as reports always called it),
 * `adaptive-l<λ>` for each of several.
 */
export function adaptiveId(lambda: number, several: boolean): string {
  return several ? `adaptive-l${lambdaText(lambda)}` : 'adaptive';
}

/** Checks a list of λ and drops repeats, keeping the order given. */
export function checkLambdas(lambdas: readonly number[]): number[] {
  if (lambdas.length === 0) throw new EvalError('EVAL_BAD_OPTION', 'give at least one adaptive λ');
  for (const l of lambdas) {
    if (!Number.isFinite(l) || l < 0) throw new EvalError('EVAL_BAD_OPTION', `adaptive λ must be a finite number >= 0; got ${l}`);
  }
  return [...new Set(lambdas)];
}

/** "1,10" → [1, 10]: the λ list of `--adaptive-lambda`. */
export function parseLambdaList(text: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new EvalError('EVAL_BAD_OPTION', `adaptive λ list "${text}" has an empty item; write e.g. 1,10`);
  return checkLambdas(
    items.map((s) => {
      const n = Number(s);
      if (!Number.isFinite(n)) throw new EvalError('EVAL_BAD_OPTION', `adaptive λ "${s}" is not a number`);
      return n;
    }),
  );
}

/**
 * The evaluation protocol of the AW-Net paper at one eps: FGSM, PGD-20 with step eps/4
 * and with step eps/10, CW∞ with 30 steps, and the adaptive attack on the router, once per λ.
 */
export function attackSuite(
  eps: number,
  options: { adaptiveLambdas?: readonly number[]; /** default: when there are several λ */ idPerLambda?: boolean } = {},
): AttackSpec[] {
  const lambdas = checkLambdas(options.adaptiveLambdas ?? DEFAULT_ADAPTIVE_LAMBDAS);
  const several = options.idPerLambda ?? lambdas.length > 1;
  const pgdSpec = (id: AttackId, label: string, stepSize: number): AttackSpec => ({
    id,
    label,
    params: { kind: 'pgd', eps, steps: 20, stepSize, randomStart: true, loss: 'ce' },
    run: (model, x, labels, seed) => pgd(model, x, labels, { eps, steps: 20, stepSize, randomStart: true, seed }),
  });
  const adaptiveSpec = (lambda: number): AttackSpec => ({
    id: adaptiveId(lambda, several),
    label: several ? `Adaptive λ=${lambdaText(lambda)}` : 'Adaptive',
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
    ...lambdas.map(adaptiveSpec),
  ];
}

/**
 * Every attack `evaluate` can run: the paper's protocol (`attackSuite`), then the AutoAttack
 * family of both versions, which runs only when named.
 */
export function evaluationSuite(eps: number, options: Parameters<typeof attackSuite>[1] = {}): AttackSpec[] {
  return [...attackSuite(eps, options), ...autoAttackSpecs(eps, 'standard'), ...autoAttackSpecs(eps, 'fast')];
}

/** Whether a list of attack names holds a preset whose adaptive attacks take the preset's default λ list. */
export function namesPreset(ids: readonly string[] | undefined): boolean {
  return ids !== undefined && ids.some((id) => id in ATTACK_PRESETS && !(id in AUTOATTACK_PRESETS));
}

/**
 * Attack names as the command line gives them, resolved to ids of the suite in the suite's
 * order: a preset name stands for its attacks, `adaptive` for every adaptive attack (one
 * per λ). Unknown names are an error.
 */
export function expandAttackIds(suite: readonly AttackSpec[], ids: readonly string[]): string[] {
  const wanted = new Set<string>();
  const unknown: string[] = [];
  const add = (id: string): void => {
    const matches = suite.filter((a) => a.id === id || (id === 'adaptive' && a.params.kind === 'adaptive'));
    if (matches.length === 0) unknown.push(id);
    for (const a of matches) wanted.add(a.id);
  };
  for (const id of ids) {
    const preset = ATTACK_PRESETS[id];
    if (preset !== undefined) preset.forEach(add);
    else add(id);
  }
  if (unknown.length > 0) {
    const valid = [...suite.map((a) => a.id), ...(suite.some((a) => a.id !== 'adaptive' && a.params.kind === 'adaptive') ? ['adaptive'] : [])];
    throw new EvalError(
      'EVAL_BAD_OPTION',
      `unknown attack ${unknown.map((u) => `"${u}"`).join(', ')}; valid attacks: ${valid.join(', ')}; presets: ${Object.keys(ATTACK_PRESETS).join(', ')}`,
    );
  }
  return suite.filter((a) => wanted.has(a.id)).map((a) => a.id);
}

/** Keeps the attacks named in `ids` (see `expandAttackIds`), in the suite's order. */
export function selectAttacks(suite: readonly AttackSpec[], ids: readonly string[] | undefined): AttackSpec[] {
  if (ids === undefined) return suite.filter((a) => a.optIn !== true);
  const keep = new Set(expandAttackIds(suite, ids));
  return suite.filter((a) => keep.has(a.id));
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
