import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import { correctCount } from './losses.js';
import type { TrainMode } from './modes.js';
import { objective, objectiveFor, type ObjectiveParams } from './objective.js';
import { addWeightDecay, decays } from './optimizer.js';
import type { EvasionOmega } from './training-attack.js';

export interface StepContext extends ObjectiveParams {
  readonly model: Model;
  readonly optimizer: tf.Optimizer;
  readonly mode: TrainMode;
  /** Label smoothing of the router's type targets; default 0. */
  readonly typeSmoothing?: number;
  readonly weightDecay: number;
  /** MTARD teachers, run in inference mode. */
  readonly teachers?: { readonly clean: Model; readonly adv: Model };
}

/** What the attack and the schedule tell the objective about this step (GAIRAT). */
export interface StepSurvival {
  /** κ per adversarial row (AdversarialRows.kappa); null: not counted. */
  readonly kappa: Float32Array | null;
  /** The attack's step count K. */
  readonly attackSteps: number;
  /** False during GAIRAT's burn-in. */
  readonly reweight: boolean;
}

/** Figures of one step, as plain numbers (means over the batch; counts of rows). */
export interface StepFigures {
  readonly loss: number;
  readonly lossType: number;
  readonly lossNat: number;
  readonly lossAdv: number;
  readonly correctClean: number;
  readonly correctAdv: number;
  /** Rows whose type-head argmax matches their type (clean / adversarial); 0 without a router. */
  readonly typeCorrect: number;
  readonly count: number;
}

/** [clean; adversarial] rows, each its own ω but the first `evading` adversarial rows, which take their clean image's. */
export function cleanOmegaRows(n: number, evading: number): Int32Array {
  const rows = Int32Array.from({ length: 2 * n }, (_, i) => i);
  for (let j = 0; j < evading; j++) rows[n + j] = j;
  return rows;
}

/** The objective settings of a context (or any object that carries them), nothing else. */
export function objectiveParams(p: ObjectiveParams): ObjectiveParams {
  return {
    tradesBeta: p.tradesBeta,
    ...(p.gairatLambda !== undefined ? { gairatLambda: p.gairatLambda } : {}),
    ...(p.marginWeight !== undefined ? { marginWeight: p.marginWeight } : {}),
    ...(p.marginCap !== undefined ? { marginCap: p.marginCap } : {}),
    ...(p.arAtWeight !== undefined ? { arAtWeight: p.arAtWeight } : {}),
  };
}

/** tfjs variable name → variable, for the variables that take weight decay. */
export function decayingVariables(model: Model): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [stable, v] of model.namedVariables()) if (v.trainable && decays(stable)) out.set(v.name, v);
  return out;
}

/**
 * One optimisation step on [clean; adversarial]: a training forward, the objective, gradients
 * of every trainable variable, weight decay, update. MixBN sends the clean rows and the first
 * `evading` adversarial rows (router-evading examples, see RouterEvasion) through BN_clean and
 * the rest through BN_adv (with `evadingOmega` 'clean', the evading rows also take their clean
 * image's ω); the type head and the losses still see every adversarial row as
 * adversarial.
 */
export function trainStep(
  ctx: StepContext,
  x: tf.Tensor4D,
  xAdv: tf.Tensor4D,
  labels: tf.Tensor1D,
  alpha: { readonly alphaNat: number; readonly alphaAdv: number },
  decaying: ReadonlyMap<string, tf.Variable>,
  evading = 0,
  evadingOmega: EvasionOmega = 'own',
  survival?: StepSurvival,
): StepFigures {
  const n = x.shape[0];
  const kappa = survival?.kappa ? tf.tensor1d(survival.kappa) : null;
  const teacherLogits = ctx.teachers
    ? tf.tidy(() => ({
        clean: ctx.teachers!.clean.forward(x, { training: false }).logits,
        adv: ctx.teachers!.adv.forward(xAdv, { training: false }).logits,
      }))
    : undefined;
  const both = tf.concat([x, xAdv]) as tf.Tensor4D;
  let figures: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const omegaRows = evadingOmega === 'clean' && evading > 0 ? { omegaRows: cleanOmegaRows(n, evading) } : {};
    const representation = objectiveFor(ctx.mode).usesPredictor === true ? { representation: true } : {};
    const out = ctx.model.forward(both, { training: true, cleanCount: n + evading, ...omegaRows, ...representation });
    const terms = objective({
      mode: ctx.mode,
      out,
      labels,
      cleanCount: n,
      alphaNat: alpha.alphaNat,
      alphaAdv: alpha.alphaAdv,
      ...objectiveParams(ctx),
      typeSmoothing: ctx.typeSmoothing ?? 0,
      ...(teacherLogits ? { teacherCleanLogits: teacherLogits.clean, teacherAdvLogits: teacherLogits.adv } : {}),
      ...(kappa !== null && survival ? { kappa, attackSteps: survival.attackSteps } : {}),
      ...(survival ? { reweight: survival.reweight } : {}),
    });
    // Read-outs that need no gradient, gathered into one tensor so one download serves all.
    figures = tf.keep(
      tf.tidy(() => {
        const cleanLogits = tf.slice(out.logits, [0, 0], [n, -1]) as tf.Tensor2D;
        const advLogits = tf.slice(out.logits, [n, 0], [n, -1]) as tf.Tensor2D;
        const typeCorrect =
          out.typeLogits !== null
            ? correctCount(out.typeLogits, tf.concat([tf.zeros([n], 'int32'), tf.ones([n], 'int32')]) as tf.Tensor1D)
            : tf.scalar(0, 'int32');
        return tf.stack([
          terms.total,
          terms.type,
          terms.nat,
          terms.adv,
          tf.cast(correctCount(cleanLogits, labels), 'float32'),
          tf.cast(correctCount(advLogits, labels), 'float32'),
          tf.cast(typeCorrect, 'float32'),
        ]) as tf.Tensor1D;
      }),
    );
    return terms.total;
  }, ctx.model.trainableVariables());
  addWeightDecay(grads, decaying, ctx.weightDecay);
  ctx.optimizer.applyGradients(grads);
  tf.dispose([value, both, ...Object.values(grads)]);
  if (teacherLogits) tf.dispose([teacherLogits.clean, teacherLogits.adv]);
  kappa?.dispose();
  const f = figures!.dataSync();
  figures!.dispose();
  return {
    loss: f[0]!,
    lossType: f[1]!,
    lossNat: f[2]!,
    lossAdv: f[3]!,
    correctClean: f[4]!,
    correctAdv: f[5]!,
    typeCorrect: f[6]!,
    count: n,
  };
}
