import type * as tf from '@tensorflow/tfjs';

/**
 * Which network a checkpoint holds. The last three are the rows of the paper's
 * ablation (Table III), `awnet` being the full model.
 * - `static`: the backbone alone, one BN per normalisation, no router.
 * - `dynamic-only`: router signal heads scale the filters; one BN per normalisation.
 * - `mixbn-single-bn`: dynamic weights and MixBN in training, but inference uses
 *   BN_clean alone instead of mixing with the router's P(clean).
 * - `awnet`: dynamic weights, MixBN, inference mixes BN_adv and BN_clean with P(clean).
 */
export type Variant = 'static' | 'dynamic-only' | 'mixbn-single-bn' | 'awnet';

export interface InputShape {
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
}

/** A ResNet made of basic blocks: stem conv, then stages of blocks. */
export interface BackboneConfig {
  /** Output channels of the 3×3 stem convolution. */
  readonly stem: number;
  /** Output channels of each stage. */
  readonly widths: readonly number[];
  /** Basic blocks per stage. */
  readonly blocks: readonly number[];
  /** Stride of the first block of each stage. */
  readonly strides: readonly number[];
}

export interface ArchConfig {
  readonly preset: string;
  readonly variant: Variant;
  readonly input: InputShape;
  readonly numClasses: number;
  /** Per-channel normalisation applied inside the model; inputs are pixels in [0, 1]. */
  readonly normalization: { readonly mean: readonly number[]; readonly std: readonly number[] };
  /** The dynamic-weight sub-network (also the static baseline's backbone). */
  readonly main: BackboneConfig;
  /** The adversarial router's feature extractor D (unused by `static`). */
  readonly router: BackboneConfig;
  /** Exponent of the signal heads: ω = (tanh(Wψ + b) + 1)^β. */
  readonly beta: number;
  /** BN momentum: running = m·running + (1 − m)·batch. Defaults to 0.9. */
  readonly bnMomentum?: number;
  /** How far the router may steer the network at inference; absent: as far as it likes. */
  readonly hold?: RouterHold;
  /**
   * Hidden width of a training-only predictor head on the pooled features (AR-AT's h); absent:
   * none. Inference and the exported graph never use it.
   */
  readonly predictor?: number;
}

/**
 * Bounds on the router's influence over the main network at inference. An attacker who
 * fools the router into "clean" would otherwise switch every MixBN to BN_clean, the
 * non-robust mode; the cap keeps part of BN_adv in every answer. The router's own
 * P(clean) (the adversarial score) is never changed.
 */
export interface RouterHold {
  /** MixBN mixes with p' = min(P(clean), pCleanCap); 1 = no cap, 0 = BN_adv alone. */
  readonly pCleanCap: number;
  /** ω clipped to [max(0, 1 − b), 1 + b]; null = unbounded. */
  readonly omegaBound: number | null;
}

export interface ForwardOptions {
  /** Training mode: batch statistics, running statistics updated. */
  readonly training: boolean;
  /**
   * Training mode only: the first `cleanCount` rows of the batch are clean examples
   * and the rest adversarial. MixBN sends each part through its own BN (Eq. 13).
   * Defaults to the whole batch being clean.
   */
  readonly cleanCount?: number;
  /**
   * Training mode only: row i's filters are scaled by the ω the router computes for row
   * omegaRows[i] instead of its own (router-evading rows take their clean image's ω).
   */
  readonly omegaRows?: Int32Array;
  /** Also return the pooled features and, with a predictor head, its output (ForwardResult.embedding / .prediction). */
  readonly representation?: boolean;
}

export interface ForwardResult {
  /** [N, K] class logits. */
  readonly logits: tf.Tensor2D;
  /** [N, 2] router type-head logits, column 0 = clean, 1 = adversarial; null for `static`. */
  readonly typeLogits: tf.Tensor2D | null;
  /** [N] router P(clean); null for `static`. */
  readonly pClean: tf.Tensor1D | null;
  /** [N, C_last] the globally pooled features the classifier reads; only with `representation`. */
  readonly embedding?: tf.Tensor2D;
  /** [N, C_last] the predictor head on `embedding`; only with `representation` and a predictor. */
  readonly prediction?: tf.Tensor2D;
}

/**
 * A classifier on NHWC pixels in [0, 1]. All tensors it returns are owned by the caller
 * (call inside tf.tidy or dispose them).
 */
export interface Model {
  readonly config: ArchConfig;
  forward(x: tf.Tensor4D, options: ForwardOptions): ForwardResult;
  /** Trainable variables (what the optimiser updates). */
  trainableVariables(): tf.Variable[];
  /** Every variable including BN running statistics, by stable name. */
  namedVariables(): ReadonlyMap<string, tf.Variable>;
  dispose(): void;
}
