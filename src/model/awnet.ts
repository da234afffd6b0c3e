import * as tf from '@tensorflow/tfjs';

import { architecture, DEFAULT_BN_MOMENTUM, type ArchitectureSpec } from './architecture.js';
import type { NormContext } from './batch-norm.js';
import { Dense } from './dense.js';
import { ModelError } from './errors.js';
import { validateConfig } from './presets.js';
import { ResNet } from './resnet.js';
import { Router, type RouterOutput } from './router.js';
import { tidyObject } from './tidy.js';
import { VariableStore } from './variable-store.js';
import type { ArchConfig, ForwardOptions, ForwardResult, Model, RouterHold } from './types.js';

export interface CreateModelOptions {
  /** Prefix of the tfjs variable names (must be unique among live models); automatic if omitted. */
  readonly scope?: string;
}

/**
 * AW-Net and its ablation variants (see `Variant`): the router and the dynamic-weight
 * main network on the same normalised input.
 * - training: the router runs with batch statistics; its ω scales the main network's dynamic
 *   convs; MixBN routes rows by the known `cleanCount`.
 * - inference: running statistics; MixBN mixes BN_adv and BN_clean with the router's P(clean)
 *   (`awnet`) or uses BN_clean alone (`mixbn-single-bn`).
 */
export class AwNet implements Model {
  readonly config: ArchConfig;
  readonly spec: ArchitectureSpec;
  readonly main: ResNet;
  readonly classifier: Dense;
  readonly router: Router | null;
  readonly predictor: { readonly fc1: Dense; readonly fc2: Dense } | null;
  private readonly store: VariableStore;
  private readonly mean: tf.Tensor1D;
  private readonly invStd: tf.Tensor1D;

  constructor(config: ArchConfig, seed: number, options: CreateModelOptions = {}) {
    this.config = validateConfig(config);
    this.spec = architecture(this.config);
    this.store = new VariableStore(options.scope);
    const momentum = this.config.bnMomentum ?? DEFAULT_BN_MOMENTUM;
    this.main = new ResNet(this.store, this.spec.main, seed, momentum);
    this.classifier = new Dense(this.store, this.spec.classifier, seed);
    this.router = this.spec.router ? new Router(this.store, this.spec.router, this.config.beta, seed, momentum) : null;
    const p = this.spec.predictor;
    this.predictor = p ? { fc1: new Dense(this.store, p.fc1, seed), fc2: new Dense(this.store, p.fc2, seed) } : null;
    const { mean, std } = this.config.normalization;
    this.mean = tf.keep(tf.tensor1d([...mean]));
    this.invStd = tf.keep(tf.tensor1d(std.map((s) => 1 / s)));
  }

  /** The tfjs variable-name prefix of this model's variables. */
  get scope(): string {
    return this.store.scope;
  }

  /** (x − mean) / std per channel. */
  normalize(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.mul(tf.sub(x, this.mean), this.invStd) as tf.Tensor4D);
  }

  /** The router alone (null for `static`), on pixels in [0, 1]. */
  route(x: tf.Tensor4D, training = false): RouterOutput | null {
    this.checkInput(x);
    const router = this.router;
    if (!router) return null;
    return tidyObject(() => router.apply(this.normalize(x), training));
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): ForwardResult {
    this.checkInput(x);
    const n = x.shape[0];
    const cleanCount = options.cleanCount ?? n;
    if (!Number.isInteger(cleanCount) || cleanCount < 0 || cleanCount > n) {
      throw new ModelError('MODEL_BAD_INPUT', `cleanCount must be an integer in [0, ${n}], got ${String(cleanCount)}`);
    }
    return tidyObject((): ForwardResult => {
      const xn = this.normalize(x);
      const routed = this.router ? this.router.apply(xn, options.training) : null;
      const mixWithRouter = !options.training && this.spec.features.inferenceMix === 'router';
      const hold = options.training ? undefined : this.config.hold;
      const ctx: NormContext = {
        training: options.training,
        cleanCount,
        pClean: mixWithRouter && routed ? heldPClean(routed.pClean, hold) : null,
      };
      // A one-hot selection matrix rather than gather: gather's gradient needs UnsortedSegmentSum, which wasm lacks.
      const pick = options.training && options.omegaRows ? tf.oneHot(tf.tensor1d(options.omegaRows, 'int32'), n) : null;
      const own = this.spec.features.dynamic && routed ? routed.omegas.map((o) => heldOmega(o, hold)) : null;
      const omegas = own && pick ? own.map((o) => tf.matMul(pick, o) as tf.Tensor2D) : own;
      const { features } = this.main.apply(xn, ctx, omegas);
      const embedding = tf.mean(features, [1, 2]) as tf.Tensor2D;
      const logits = this.classifier.apply(embedding);
      const result = { logits, typeLogits: routed?.typeLogits ?? null, pClean: routed?.pClean ?? null };
      if (!options.representation) return result;
      const p = this.predictor;
      return { ...result, embedding, ...(p ? { prediction: p.fc2.apply(tf.relu(p.fc1.apply(embedding)) as tf.Tensor2D) } : {}) };
    });
  }

  trainableVariables(): tf.Variable[] {
    return this.store.trainable();
  }

  namedVariables(): ReadonlyMap<string, tf.Variable> {
    return this.store.named();
  }

  /** The stable name of one of this model's tfjs variable names, or null. */
  stableName(tfVariableName: string): string | null {
    return this.store.stableName(tfVariableName);
  }

  dispose(): void {
    this.store.dispose();
    this.mean.dispose();
    this.invStd.dispose();
  }

  private checkInput(x: tf.Tensor4D): void {
    this.store.assertLive();
    const { height, width, channels } = this.config.input;
    const [n, h, w, c] = x.shape;
    if (x.rank !== 4 || h !== height || w !== width || c !== channels || !(n > 0)) {
      throw new ModelError(
        'MODEL_BAD_INPUT',
        `input has shape [${x.shape.join(', ')}], expected [N ≥ 1, ${height}, ${width}, ${channels}] (NHWC)`,
      );
    }
    if (x.dtype !== 'float32') {
      throw new ModelError('MODEL_BAD_INPUT', `input has dtype ${x.dtype}, expected float32 pixels in [0, 1]`);
    }
  }
}

/** The P(clean) MixBN mixes with: capped by the hold (the router's own output is left as it is). */
function heldPClean(pClean: tf.Tensor1D, hold: RouterHold | undefined): tf.Tensor1D {
  return hold === undefined || hold.pCleanCap >= 1 ? pClean : tf.minimum(pClean, hold.pCleanCap);
}

function heldOmega(omega: tf.Tensor2D, hold: RouterHold | undefined): tf.Tensor2D {
  const bound = hold?.omegaBound ?? null;
  return bound === null ? omega : tf.clipByValue(omega, Math.max(0, 1 - bound), 1 + bound);
}

/** A freshly initialised model, deterministic for a given configuration and seed. */
export function createModel(config: ArchConfig, seed: number, options: CreateModelOptions = {}): AwNet {
  return new AwNet(config, seed, options);
}
