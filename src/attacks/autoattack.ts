import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { apgdCe, apgdTargeted, checkCount } from './apgd-variants.js';
import { checkBatch, checkEps } from './linf.js';
import { fabTargeted } from './fab.js';
import { modelOracle } from './score-oracle.js';
import { squareAttack } from './square.js';

/** One attack of the cascade: it gets the images still robust and returns candidates for them. */
export interface CascadePart {
  readonly id: string;
  readonly label: string;
  run(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, seed: string): Promise<{ xAdv: tf.Tensor4D; queries: number | null }>;
}

/** What one part did on one batch. */
export interface PartStats {
  readonly id: string;
  readonly label: string;
  /** Images it ran on (those still robust when its turn came). */
  readonly attacked: number;
  /** Images of the batch still classified correctly after it (and every part before it). */
  readonly robust: number;
  readonly seconds: number;
  /** Oracle queries it made (score-based attacks), else null. */
  readonly queries: number | null;
}

export interface CascadeResult {
  /** Per image the first part's example that fooled the model; for images never fooled, the first part's example. */
  readonly xAdv: tf.Tensor4D;
  readonly parts: readonly PartStats[];
}

/** AutoAttack's parameters (Croce & Hein 2020); `AUTOATTACK_STANDARD` is the paper's "standard" version. */
export interface AutoAttackConfig {
  readonly apgdSteps: number;
  readonly apgdRestarts: number;
  readonly apgdTargets: number;
  readonly fabSteps: number;
  readonly fabTargets: number;
  readonly fabRestarts: number;
  readonly squareQueries: number;
}

export const AUTOATTACK_STANDARD: AutoAttackConfig = { apgdSteps: 100, apgdRestarts: 1, apgdTargets: 9, fabSteps: 100, fabTargets: 9, fabRestarts: 1, squareQueries: 5000 };

/** The cheaper version for CPUs: 5× fewer iterations and queries, 3 targets instead of 9. */
export const AUTOATTACK_FAST: AutoAttackConfig = { apgdSteps: 20, apgdRestarts: 1, apgdTargets: 3, fabSteps: 20, fabTargets: 3, fabRestarts: 1, squareQueries: 1000 };

/** APGD-CE, APGD-T, FAB-T and Square at eps with the given parameters, in AutoAttack's order. */
export function autoAttackParts(eps: number, config: AutoAttackConfig): CascadePart[] {
  checkEps(eps);
  for (const [name, v] of Object.entries(config)) checkCount(name, v, 1);
  const sync = (xAdv: tf.Tensor4D): Promise<{ xAdv: tf.Tensor4D; queries: null }> => Promise.resolve({ xAdv, queries: null });
  return [
    {
      id: 'apgd-ce',
      label: 'APGD-CE',
      run: (m, x, y, seed) => sync(apgdCe(m, x, y, { eps, steps: config.apgdSteps, restarts: config.apgdRestarts, seed }).xAdv),
    },
    {
      id: 'apgd-t',
      label: 'APGD-T',
      run: (m, x, y, seed) => sync(apgdTargeted(m, x, y, { eps, steps: config.apgdSteps, restarts: config.apgdRestarts, targets: config.apgdTargets, seed }).xAdv),
    },
    {
      id: 'fab-t',
      label: 'FAB-T',
      run: (m, x, y, seed) => sync(fabTargeted(m, x, y, { eps, steps: config.fabSteps, targets: config.fabTargets, restarts: config.fabRestarts, seed }).xAdv),
    },
    {
      id: 'square',
      label: 'Square',
      run: async (m, x, y, seed) => {
        const result = await squareAttack(modelOracle(m), x.dataSync() as Float32Array, y.dataSync() as Int32Array, { eps, queries: config.squareQueries, seed });
        const queries = result.queries.reduce((a, q) => a + q, 0);
        return { xAdv: tf.tensor4d(result.adversarial, x.shape), queries };
      },
    },
  ];
}

/** Per row, whether the model classifies it correctly. */
function correct(model: Model, x: tf.Tensor4D, labels: Int32Array): Uint8Array {
  const predicted = tf.tidy(() => tf.argMax(model.forward(x, { training: false }).logits, 1));
  const p = predicted.dataSync();
  predicted.dispose();
  return Uint8Array.from(labels, (y, i) => (p[i] === y ? 1 : 0));
}

/**
 * Runs the parts as AutoAttack does: each only on the images every earlier part failed on
 * (the images misclassified when clean are not attacked at all), keeping per image the first
 * example that fools the model. Robust accuracy after the last part is the per-image worst
 * case over all of them. Images never fooled get the first part's example rather than the
 * clean image, so that the router's figures describe attacked inputs.
 */
export async function runCascade(
  model: Model,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  parts: readonly CascadePart[],
  seed: string,
  /** Told each part's label as it starts (progress). */
  onPart?: (label: string) => void,
): Promise<CascadeResult> {
  checkBatch(model, x, labels);
  const n = x.shape[0];
  const per = x.size / Math.max(n, 1);
  const y = Int32Array.from(labels.dataSync());
  const data = Float32Array.from(x.dataSync());
  const robust = correct(model, x, y);
  const stats: PartStats[] = [];
  for (const [p, part] of parts.entries()) {
    const rows = [...robust.keys()].filter((i) => robust[i] === 1);
    onPart?.(part.label);
    const started = performance.now();
    let queries: number | null = null;
    if (rows.length > 0) {
      const index = tf.tensor1d(rows, 'int32');
      const xs = tf.gather(x, index) as tf.Tensor4D;
      const ys = tf.gather(labels, index) as tf.Tensor1D;
      index.dispose();
      try {
        const out = await part.run(model, xs, ys, `${seed}/${part.id}`);
        queries = out.queries;
        const still = correct(model, out.xAdv, Int32Array.from(rows, (r) => y[r] as number));
        const adv = out.xAdv.dataSync();
        out.xAdv.dispose();
        rows.forEach((row, j) => {
          if (p === 0 || still[j] === 0) data.set(adv.subarray(j * per, (j + 1) * per), row * per);
          if (still[j] === 0) robust[row] = 0;
        });
      } finally {
        tf.dispose([xs, ys]);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    stats.push({ id: part.id, label: part.label, attacked: rows.length, robust: robust.reduce((a, r) => a + r, 0), seconds, queries });
  }
  return { xAdv: tf.tensor4d(data, x.shape), parts: stats };
}
