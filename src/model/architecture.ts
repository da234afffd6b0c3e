/**
 * The layer-by-layer layout of a model, derived from its `ArchConfig` alone (no tensors).
 * The tfjs model is built from this layout, and the ONNX exporter walks the same layout,
 * so both always agree on structure and names.
 *
 * Variable naming scheme (what `Model.namedVariables()` returns; kernels in tfjs layout):
 *
 *   <net>/stem/conv/kernel                          [3, 3, C_in, C_stem]   (HWIO)
 *   <net>/stem/bn/<bn-vars>
 *   <net>/stage<s>/block<b>/conv1/kernel            [3, 3, C_in, C_out]    s = 1.., b = 0..
 *   <net>/stage<s>/block<b>/bn1/<bn-vars>
 *   <net>/stage<s>/block<b>/conv2/kernel            [3, 3, C_out, C_out]
 *   <net>/stage<s>/block<b>/bn2/<bn-vars>
 *   <net>/stage<s>/block<b>/shortcut/conv/kernel    [1, 1, C_in, C_out]    only when shape changes
 *   <net>/stage<s>/block<b>/shortcut/bn/<bn-vars>
 *   main/classifier/kernel                          [C_last, K]            (in, out)
 *   main/classifier/bias                            [K]
 *   router/type/kernel                              [F, 2]   column 0 = clean, 1 = adversarial
 *   router/type/bias                                [2]
 *   router/signal/<j>/kernel                        [F, C_out(j)]  j = index of the dynamic conv
 *   router/signal/<j>/bias                          [C_out(j)]
 *   predictor/fc1/kernel, predictor/fc1/bias         [C_last, P], [P]   only with `predictor` P (training-only)
 *   predictor/fc2/kernel, predictor/fc2/bias         [P, C_last], [C_last]
 *
 * <net> is `main` (the dynamic-weight sub-network) or `router` (the feature extractor D).
 * <bn-vars> is `gamma`, `beta`, `moving_mean`, `moving_variance` (all [C]) for a single BN,
 * and `clean/<that>` plus `adv/<that>` for a MixBN. F, the router feature size, is the sum of
 * the router's stage widths (ψ = concat of the global-average-pooled output of every stage).
 * Dynamic convs are numbered in network order: stage by stage, block by block, conv1 then
 * conv2. Every conv has no bias and uses TensorFlow 'same' padding (for stride 2 on an even
 * input that pads 0 before and 1 after, i.e. ONNX auto_pad SAME_UPPER).
 */
import type { ArchConfig, BackboneConfig, Variant } from './types.js';

/** What a variant switches on. */
export interface VariantFeatures {
  /** An adversarial router exists (type head + signal heads). */
  readonly router: boolean;
  /** Both 3×3 convs of every main block are scaled per sample by ω. */
  readonly dynamic: boolean;
  /** Every main-network normalisation is a MixBN (else a single BN). */
  readonly mixbn: boolean;
  /**
   * How MixBN combines its two BNs at inference: `router` = (1−p)·BN_adv + p·BN_clean with
   * p = router P(clean); `clean` = BN_clean alone; `none` = there is no MixBN.
   */
  readonly inferenceMix: 'router' | 'clean' | 'none';
}

export function variantFeatures(variant: Variant): VariantFeatures {
  switch (variant) {
    case 'static':
      return { router: false, dynamic: false, mixbn: false, inferenceMix: 'none' };
    case 'dynamic-only':
      return { router: true, dynamic: true, mixbn: false, inferenceMix: 'none' };
    case 'mixbn-single-bn':
      return { router: true, dynamic: true, mixbn: true, inferenceMix: 'clean' };
    case 'awnet':
      return { router: true, dynamic: true, mixbn: true, inferenceMix: 'router' };
  }
}

export const VARIANTS: readonly Variant[] = ['static', 'dynamic-only', 'mixbn-single-bn', 'awnet'];

/** ε of every batch normalisation. */
export const BN_EPSILON = 1e-5;
/** Default BN momentum: running = m·running + (1 − m)·batch. */
export const DEFAULT_BN_MOMENTUM = 0.9;
/** Smallest and largest β a configuration may use. */
export const BETA_RANGE = [0.5, 16] as const;

/** The clip floor of tanh + 1 for β ≤ 5 (all presets); use signalFloor(β) in general. */
export const SIGNAL_FLOOR = 1e-6;

/**
 * tanh(z) + 1 is clipped to [f, 2 − f], f = signalFloor(β), before the power β, so that
 * ω stays strictly inside (0, 2^β) in float32 even where tanh saturates: f ≥ 1e-6 keeps
 * (2 − f)^β below 2^β, and f^β ≥ 1e-30 keeps ω above zero.
 */
export function signalFloor(beta: number): number {
  return Math.max(SIGNAL_FLOOR, 1e-30 ** (1 / beta));
}

export interface ConvSpec {
  readonly name: string;
  readonly kernelSize: 1 | 3;
  readonly stride: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Index of the router signal head scaling this conv's output, or null for a static conv. */
  readonly signal: number | null;
}

export interface NormSpec {
  readonly name: string;
  readonly kind: 'bn' | 'mixbn';
  readonly channels: number;
}

export interface BlockSpec {
  readonly name: string;
  readonly conv1: ConvSpec;
  readonly norm1: NormSpec;
  readonly conv2: ConvSpec;
  readonly norm2: NormSpec;
  /** 1×1 conv + norm when the block changes shape, else null (identity). */
  readonly shortcut: { readonly conv: ConvSpec; readonly norm: NormSpec } | null;
}

export interface StageSpec {
  readonly name: string;
  readonly outChannels: number;
  readonly blocks: readonly BlockSpec[];
}

export interface NetworkSpec {
  readonly name: 'main' | 'router';
  readonly stem: { readonly conv: ConvSpec; readonly norm: NormSpec };
  readonly stages: readonly StageSpec[];
}

export interface DenseSpec {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export interface DynamicConvInfo {
  /** j: the signal head index. */
  readonly index: number;
  /** The conv's name, e.g. `main/stage1/block0/conv1` (its kernel is `<name>/kernel`). */
  readonly name: string;
  /** The signal head's name, `router/signal/<j>`. */
  readonly signalName: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;
}

export interface RouterSpec {
  readonly network: NetworkSpec;
  /** F: length of ψ. */
  readonly featureSize: number;
  readonly typeHead: DenseSpec;
  /** One per dynamic conv, in dynamic-conv order (empty when the variant has no dynamic convs). */
  readonly signalHeads: readonly DenseSpec[];
}

export interface ArchitectureSpec {
  readonly features: VariantFeatures;
  readonly main: NetworkSpec;
  readonly classifier: DenseSpec;
  readonly router: RouterSpec | null;
  readonly dynamicConvs: readonly DynamicConvInfo[];
  /** The training-only predictor head fc2(relu(fc1(·))) on the pooled features, or null. */
  readonly predictor: { readonly fc1: DenseSpec; readonly fc2: DenseSpec } | null;
}

function networkSpec(
  name: 'main' | 'router',
  net: BackboneConfig,
  inChannels: number,
  normKind: 'bn' | 'mixbn',
  dynamic: boolean,
  dynamicConvs: DynamicConvInfo[],
): NetworkSpec {
  const conv = (
    convName: string,
    kernelSize: 1 | 3,
    stride: number,
    cin: number,
    cout: number,
    isDynamic: boolean,
  ): ConvSpec => {
    let signal: number | null = null;
    if (isDynamic) {
      signal = dynamicConvs.length;
      dynamicConvs.push({
        index: signal,
        name: convName,
        signalName: `router/signal/${signal}`,
        inChannels: cin,
        outChannels: cout,
        stride,
      });
    }
    return { name: convName, kernelSize, stride, inChannels: cin, outChannels: cout, signal };
  };
  const norm = (normName: string, channels: number): NormSpec => ({ name: normName, kind: normKind, channels });

  const stem = {
    conv: conv(`${name}/stem/conv`, 3, 1, inChannels, net.stem, false),
    norm: norm(`${name}/stem/bn`, net.stem),
  };
  let channels = net.stem;
  const stages: StageSpec[] = net.widths.map((width, s) => {
    const stageName = `${name}/stage${s + 1}`;
    const blocks: BlockSpec[] = [];
    for (let b = 0; b < (net.blocks[s] ?? 0); b += 1) {
      const blockName = `${stageName}/block${b}`;
      const stride = b === 0 ? (net.strides[s] ?? 1) : 1;
      const changes = stride !== 1 || channels !== width;
      blocks.push({
        name: blockName,
        conv1: conv(`${blockName}/conv1`, 3, stride, channels, width, dynamic),
        norm1: norm(`${blockName}/bn1`, width),
        conv2: conv(`${blockName}/conv2`, 3, 1, width, width, dynamic),
        norm2: norm(`${blockName}/bn2`, width),
        shortcut: changes
          ? {
              conv: conv(`${blockName}/shortcut/conv`, 1, stride, channels, width, false),
              norm: norm(`${blockName}/shortcut/bn`, width),
            }
          : null,
      });
      channels = width;
    }
    return { name: stageName, outChannels: width, blocks };
  });
  return { name, stem, stages };
}

/** The full layout of a model with this configuration. */
export function architecture(config: ArchConfig): ArchitectureSpec {
  const features = variantFeatures(config.variant);
  const dynamicConvs: DynamicConvInfo[] = [];
  const main = networkSpec(
    'main',
    config.main,
    config.input.channels,
    features.mixbn ? 'mixbn' : 'bn',
    features.dynamic,
    dynamicConvs,
  );
  const lastWidth = config.main.widths[config.main.widths.length - 1] ?? config.main.stem;
  const classifier: DenseSpec = { name: 'main/classifier', inFeatures: lastWidth, outFeatures: config.numClasses };
  let router: RouterSpec | null = null;
  if (features.router) {
    const network = networkSpec('router', config.router, config.input.channels, 'bn', false, []);
    const featureSize = config.router.widths.reduce((sum, w) => sum + w, 0);
    router = {
      network,
      featureSize,
      typeHead: { name: 'router/type', inFeatures: featureSize, outFeatures: 2 },
      signalHeads: dynamicConvs.map((d) => ({ name: d.signalName, inFeatures: featureSize, outFeatures: d.outChannels })),
    };
  }
  const predictor =
    config.predictor === undefined
      ? null
      : {
          fc1: { name: 'predictor/fc1', inFeatures: lastWidth, outFeatures: config.predictor },
          fc2: { name: 'predictor/fc2', inFeatures: config.predictor, outFeatures: lastWidth },
        };
  return { features, main, classifier, router, dynamicConvs, predictor };
}

/** The dynamic convolutions of a configuration, in signal-head order. */
export function listDynamicConvs(config: ArchConfig): readonly DynamicConvInfo[] {
  return architecture(config).dynamicConvs;
}

/** Every conv of a network in forward order (stem, then per block conv1, conv2, shortcut). */
export function networkConvs(net: NetworkSpec): ConvSpec[] {
  const convs: ConvSpec[] = [net.stem.conv];
  for (const stage of net.stages) {
    for (const block of stage.blocks) {
      convs.push(block.conv1, block.conv2);
      if (block.shortcut) convs.push(block.shortcut.conv);
    }
  }
  return convs;
}
