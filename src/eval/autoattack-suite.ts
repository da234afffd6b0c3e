import * as tf from '@tensorflow/tfjs';
import { apgdAdaptive } from '../attacks/apgd-variants.js';
import { AUTOATTACK_FAST, AUTOATTACK_STANDARD, autoAttackParts, runCascade, type AutoAttackConfig } from '../attacks/autoattack.js';
import { modelOracle } from '../attacks/score-oracle.js';
import { squareAttack } from '../attacks/square.js';
import type { AttackSpec } from './attack-spec.js';

export type AutoAttackVersion = 'standard' | 'fast';

/** λ of the detector-aware attacks' router term, as the adaptive attack's default. */
export const DETECTOR_AWARE_LAMBDA = 1;

export const AUTOATTACK_VERSIONS: Readonly<Record<AutoAttackVersion, AutoAttackConfig>> = { standard: AUTOATTACK_STANDARD, fast: AUTOATTACK_FAST };

/** The command-line names: each stands for the cascade and the two detector-aware attacks of its version. */
export const AUTOATTACK_PRESETS: Readonly<Record<string, readonly string[]>> = {
  autoattack: ['aa', 'apgd-adaptive', 'square-adaptive'],
  'autoattack-fast': ['aa-fast', 'apgd-adaptive-fast', 'square-adaptive-fast'],
};

/** How the fast version differs, for --help and the docs. */
export function describeVersions(): string {
  const s = AUTOATTACK_STANDARD;
  const f = AUTOATTACK_FAST;
  return (
    `autoattack: AutoAttack's standard version (APGD-CE and APGD-T ${s.apgdSteps} iterations, APGD-T ${s.apgdTargets} targets, FAB-T ${s.fabTargets} targets × ${s.fabSteps} iterations, Square ${s.squareQueries} queries) ` +
    `plus detector-aware APGD (${s.apgdSteps} iterations) and Square (${s.squareQueries} queries, probabilities and score only) at λ ${DETECTOR_AWARE_LAMBDA}; ` +
    `autoattack-fast: the same with ${f.apgdSteps} iterations, ${f.apgdTargets} APGD-T and ${f.fabTargets} FAB-T targets, ${f.fabSteps} FAB iterations and ${f.squareQueries} Square queries`
  );
}

function count(values: Int32Array): number {
  return values.reduce((a, v) => a + v, 0);
}

/**
 * The AutoAttack stage and the detector-aware attacks of one version, at eps. They run only
 * when named (`optIn`): the default attack list and the `target` preset stay as they were.
 * - `aa`: APGD-CE → APGD-T → FAB-T → Square, each on the images still robust; its figures are
 *   the per-image worst case, with each part's robust accuracy, time and queries.
 * - `apgd-adaptive`: APGD on min(margin, 0) + λ·log P(clean) (white box, sees the router).
 * - `square-adaptive`: Square on max(margin, 0) − λ·log P(clean) from probabilities and score only.
 * `config` replaces the version's parameters (tests use tiny ones).
 */
export function autoAttackSpecs(eps: number, version: AutoAttackVersion, config: AutoAttackConfig = AUTOATTACK_VERSIONS[version]): AttackSpec[] {
  const suffix = version === 'fast' ? '-fast' : '';
  const labelSuffix = version === 'fast' ? ' (fast)' : '';
  const lambda = DETECTOR_AWARE_LAMBDA;
  const parts = autoAttackParts(eps, config);
  // Progress weights in gradient passes: a forward pass costs about a third of one.
  const cascadeCost = config.apgdSteps * (1 + config.apgdTargets) + 1.4 * config.fabSteps * config.fabTargets + config.squareQueries / 3;
  return [
    {
      id: `aa${suffix}`,
      label: `AutoAttack${labelSuffix}`,
      params: {
        kind: 'autoattack',
        eps,
        steps: config.apgdSteps,
        stepSize: 2 * eps,
        randomStart: true,
        loss: 'APGD-CE (cross-entropy), APGD-T (targeted DLR), FAB-T, Square (margin)',
        version,
        targets: config.apgdTargets,
        restarts: config.apgdRestarts,
        fabSteps: config.fabSteps,
        fabTargets: config.fabTargets,
        queries: config.squareQueries,
      },
      optIn: true,
      cost: Math.round(cascadeCost),
      run: (model, x, labels, seed, onPart) => runCascade(model, x, labels, parts, seed, onPart),
    },
    {
      id: `apgd-adaptive${suffix}`,
      label: `APGD adaptive${labelSuffix}`,
      params: { kind: 'apgd-adaptive', eps, steps: config.apgdSteps, stepSize: 2 * eps, randomStart: true, loss: 'min(cw-margin, 0) + λ·log P(clean)', lambda, version },
      optIn: true,
      cost: config.apgdSteps + 1,
      run: (model, x, labels, seed) => apgdAdaptive(model, x, labels, { eps, steps: config.apgdSteps, lambda, seed }).xAdv,
    },
    {
      id: `square-adaptive${suffix}`,
      label: `Square adaptive${labelSuffix}`,
      params: { kind: 'square-adaptive', eps, steps: config.squareQueries, stepSize: 2 * eps, randomStart: true, loss: 'max(log-prob margin, 0) − λ·log P(clean)', lambda, version, queries: config.squareQueries },
      optIn: true,
      cost: Math.round(config.squareQueries / 3),
      run: async (model, x, labels, seed) => {
        const started = performance.now();
        const y = labels.dataSync() as Int32Array;
        const result = await squareAttack(modelOracle(model), x.dataSync() as Float32Array, y, { eps, queries: config.squareQueries, lambda, seed });
        const robust = y.length - count(Int32Array.from(result.fooled));
        const part = { id: 'square-adaptive', label: 'Square adaptive', attacked: y.length, robust, seconds: (performance.now() - started) / 1000, queries: count(result.queries) };
        return { xAdv: tf.tensor4d(result.adversarial, x.shape), parts: [part] };
      },
    },
  ];
}
