import { BETA_RANGE, VARIANTS, variantFeatures } from './architecture.js';
import { ModelError } from './errors.js';
import type { ArchConfig, BackboneConfig, InputShape, RouterHold, Variant } from './types.js';

interface Preset {
  readonly input: InputShape;
  readonly numClasses: number;
  readonly normalization: ArchConfig['normalization'];
  readonly main: BackboneConfig;
  readonly router: BackboneConfig;
  readonly beta: number;
}

/**
 * `fmnist-tiny` is sized to train on a 2-core CPU; `cifar10-resnet18` is the paper's scale
 * (ResNet-18 for both sub-networks).
 */
export const PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  'fmnist-tiny': {
    input: { height: 28, width: 28, channels: 1 },
    numClasses: 10,
    // Fashion-MNIST training-set pixel statistics.
    normalization: { mean: [0.286], std: [0.353] },
    main: { stem: 16, widths: [16, 32, 64], blocks: [1, 1, 1], strides: [1, 2, 2] },
    router: { stem: 8, widths: [8, 16, 32], blocks: [1, 1, 1], strides: [1, 2, 2] },
    beta: 3,
  },
  'cifar10-resnet18': {
    input: { height: 32, width: 32, channels: 3 },
    numClasses: 10,
    normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
    main: { stem: 64, widths: [64, 128, 256, 512], blocks: [2, 2, 2, 2], strides: [1, 2, 2, 2] },
    router: { stem: 64, widths: [64, 128, 256, 512], blocks: [2, 2, 2, 2], strides: [1, 2, 2, 2] },
    beta: 3,
  },
});

export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS);

export interface ConfigOverrides {
  readonly main?: Partial<BackboneConfig>;
  readonly router?: Partial<BackboneConfig>;
  readonly beta?: number;
  readonly numClasses?: number;
  readonly bnMomentum?: number;
  readonly hold?: RouterHold;
  readonly predictor?: number;
}

/** A validated, frozen configuration: a preset, a variant and optional overrides. */
export function buildConfig(preset: string, variant: Variant = 'awnet', overrides: ConfigOverrides = {}): ArchConfig {
  const base = PRESETS[preset];
  if (!base) {
    throw new ModelError('MODEL_UNKNOWN_PRESET', `unknown preset "${preset}"; valid presets: ${PRESET_NAMES.join(', ')}`);
  }
  const config: ArchConfig = {
    preset,
    variant,
    input: { ...base.input },
    numClasses: overrides.numClasses ?? base.numClasses,
    normalization: { mean: [...base.normalization.mean], std: [...base.normalization.std] },
    main: mergeBackbone(base.main, overrides.main),
    router: mergeBackbone(base.router, overrides.router),
    beta: overrides.beta ?? base.beta,
    ...(overrides.bnMomentum !== undefined ? { bnMomentum: overrides.bnMomentum } : {}),
    ...(overrides.hold !== undefined ? { hold: overrides.hold } : {}),
    ...(overrides.predictor !== undefined ? { predictor: overrides.predictor } : {}),
  };
  return validateConfig(config);
}

function mergeBackbone(base: BackboneConfig, over: Partial<BackboneConfig> | undefined): BackboneConfig {
  const widths = over?.widths ?? base.widths;
  // Changing the number of stages without saying how deep/strided they are: repeat the
  // preset's pattern (1 block; stride 1 first, then 2) rather than failing.
  const sameDepth = widths.length === base.widths.length;
  return {
    stem: over?.stem ?? base.stem,
    widths: [...widths],
    blocks: [...(over?.blocks ?? (sameDepth ? base.blocks : widths.map(() => base.blocks[0] ?? 1)))],
    strides: [...(over?.strides ?? (sameDepth ? base.strides : widths.map((_, i) => (i === 0 ? 1 : 2))))],
  };
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function checkBackbone(label: string, net: BackboneConfig): void {
  const fail = (what: string): never => {
    throw new ModelError('MODEL_BAD_CONFIG', `${label}: ${what}`);
  };
  if (!isPositiveInt(net.stem)) fail(`stem must be a positive integer, got ${String(net.stem)}`);
  if (!Array.isArray(net.widths) || net.widths.length === 0) fail('widths must be a non-empty array');
  if (!Array.isArray(net.blocks) || net.blocks.length !== net.widths.length) {
    fail(`blocks must have one entry per stage (${net.widths.length}), got ${JSON.stringify(net.blocks)}`);
  }
  if (!Array.isArray(net.strides) || net.strides.length !== net.widths.length) {
    fail(`strides must have one entry per stage (${net.widths.length}), got ${JSON.stringify(net.strides)}`);
  }
  net.widths.forEach((w, i) => isPositiveInt(w) || fail(`widths[${i}] must be a positive integer, got ${String(w)}`));
  net.blocks.forEach((b, i) => isPositiveInt(b) || fail(`blocks[${i}] must be a positive integer, got ${String(b)}`));
  net.strides.forEach(
    (s, i) => s === 1 || s === 2 || fail(`strides[${i}] must be 1 or 2, got ${String(s)}`),
  );
}

/** Checks a configuration (e.g. one read from a checkpoint) and returns a frozen copy. */
export function validateConfig(config: ArchConfig): ArchConfig {
  const fail = (what: string): never => {
    throw new ModelError('MODEL_BAD_CONFIG', what);
  };
  if (typeof config !== 'object' || config === null) fail('configuration must be an object');
  if (typeof config.preset !== 'string') fail('preset must be a string');
  if (!VARIANTS.includes(config.variant)) {
    fail(`unknown variant "${String(config.variant)}"; valid variants: ${VARIANTS.join(', ')}`);
  }
  const { height, width, channels } = config.input ?? {};
  if (!isPositiveInt(height) || !isPositiveInt(width)) fail(`input height/width must be positive integers`);
  if (channels !== 1 && channels !== 3) fail(`input channels must be 1 or 3, got ${String(channels)}`);
  if (!isPositiveInt(config.numClasses) || config.numClasses < 2) {
    fail(`numClasses must be an integer ≥ 2, got ${String(config.numClasses)}`);
  }
  const { mean, std } = config.normalization ?? {};
  if (!Array.isArray(mean) || mean.length !== channels || !Array.isArray(std) || std.length !== channels) {
    fail(`normalization mean and std need ${String(channels)} value(s) each`);
  }
  if (std.some((s) => !(typeof s === 'number' && s > 0))) fail(`normalization std must be positive`);
  if (!(typeof config.beta === 'number' && config.beta >= BETA_RANGE[0] && config.beta <= BETA_RANGE[1])) {
    fail(`beta must be a number in [${BETA_RANGE.join(', ')}], got ${String(config.beta)}`);
  }
  if (config.bnMomentum !== undefined && !(config.bnMomentum >= 0 && config.bnMomentum < 1)) {
    fail(`bnMomentum must be in [0, 1), got ${String(config.bnMomentum)}`);
  }
  if (config.hold !== undefined) checkHold(config.hold, config.variant);
  if (config.predictor !== undefined && !isPositiveInt(config.predictor)) fail(`predictor must be a positive integer, got ${String(config.predictor)}`);
  checkBackbone('main', config.main);
  checkBackbone('router', config.router);
  return deepFreeze(structuredClone(config));
}

/** Problems with a router hold for this variant (empty when it is valid). */
export function holdProblems(hold: RouterHold, variant: Variant): string[] {
  const problems: string[] = [];
  const features = variantFeatures(variant);
  const cap = hold.pCleanCap;
  if (!(typeof cap === 'number' && cap >= 0 && cap <= 1)) problems.push(`the P(clean) cap must be a number in [0, 1], got ${String(cap)}`);
  else if (cap < 1 && features.inferenceMix !== 'router') {
    problems.push(`a P(clean) cap below 1 needs a variant whose MixBN mixes with the router (awnet), not ${variant}`);
  }
  const bound = hold.omegaBound;
  if (bound !== null && !(typeof bound === 'number' && bound > 0 && Number.isFinite(bound))) {
    problems.push(`the ω bound must be a positive number or null, got ${String(bound)}`);
  } else if (bound !== null && !features.dynamic) {
    problems.push(`an ω bound needs a variant with dynamic weights, not ${variant}`);
  }
  return problems;
}

function checkHold(hold: RouterHold, variant: Variant): void {
  if (typeof hold !== 'object' || hold === null) throw new ModelError('MODEL_BAD_CONFIG', 'hold must be an object { pCleanCap, omegaBound }');
  const problems = holdProblems(hold, variant);
  if (problems.length > 0) throw new ModelError('MODEL_BAD_CONFIG', problems.join('; '));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
