import { CORRUPTION_KINDS, type CorruptionKind } from '../data/corruptions.js';
import { DATASETS } from '../data/load.js';
import type { DatasetName } from '../data/types.js';
import type { ConfigOverrides } from '../model/presets.js';
import type { Variant } from '../model/types.js';
import { TrainError } from './errors.js';
import { OBJECTIVE_DEFAULTS, type TrainMode } from './modes.js';
import type { ObjectiveParams } from './objective.js';
import type { OptimizerName } from './optimizer.js';
import type { LrScheduleName } from './schedule.js';
import { trainingAttack, type EvasionOmega, type RouterEvasion, type TrainingAttack, type TrainingAttackName } from './training-attack.js';

/** Everything that defines a training run; stored in every checkpoint so `--resume` can check it. */
export interface TrainSettings {
  readonly preset: string;
  readonly variant: Variant;
  readonly mode: TrainMode;
  readonly overrides: ConfigOverrides;
  readonly dataset: DatasetName;
  readonly dataDir: string | null;
  readonly limit: number | null;
  readonly skipCorrupt: boolean;
  /** Training images held out for validation (a seeded split); null: `defaultValSize`. */
  readonly valSize: number | null;
  /** Validation images also attacked with PGD each epoch. */
  readonly valPgdSize: number;
  readonly valAttackSteps: number;
  /** λ of the adaptive attacks of each validation (the worst case spans them and PGD). */
  readonly valAdaptiveLambdas: readonly number[];
  /** Queries per image of the validation Square Attack on the images the gradient attacks left correct (0: none). */
  readonly valSquareQueries: number;
  /** With a time budget, the most epochs the plan may hold; otherwise the run's length. */
  readonly epochs: number;
  /** Wall-clock minutes the whole run (validation included) must fit in; null: none. */
  readonly timeBudgetMinutes: number | null;
  readonly batchSize: number;
  readonly lr: number;
  readonly lrSchedule: LrScheduleName;
  readonly warmupEpochs: number;
  readonly optimizer: OptimizerName;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly eps: number;
  /** The training attack (see TrainingAttackName) and its resolved parameters. */
  readonly attack: TrainingAttackName;
  readonly attackSteps: number;
  readonly attackStepSize: number;
  /** Half-width of the attack's uniform random start. */
  readonly attackNoise: number;
  /** Share of each batch's adversarial rows made router-evading, and their λ (RouterEvasion). */
  readonly evasionShare: number;
  readonly evasionLambdas: readonly number[];
  /** The ω of router-evading rows in training (RouterEvasion.omega). */
  readonly evasionOmega: EvasionOmega;
  /** Signed-gradient step of the router-evading rows (RouterEvasion.stepSize); null: the attack's step. */
  readonly evasionStepSize: number | null;
  /** Share of each batch's clean rows given a random benign corruption (still labelled clean). */
  readonly benignShare: number;
  /** The kinds of benign change those rows draw from (uniformly). */
  readonly benignKinds: readonly CorruptionKind[];
  /** Share of each batch's clean rows given the training attack's random start alone (uniform ±attackNoise), still labelled clean. */
  readonly matchedNoiseShare: number;
  readonly tradesBeta: number;
  /** GAIRAT's λ and the share of the run's steps trained as plain PGD-AT before it reweights. */
  readonly gairatLambda: number;
  readonly gairatBurnIn: number;
  /** The average-margin regulariser's weight μ and margin cap τ (objective-margin.ts). */
  readonly marginWeight: number;
  readonly marginCap: number;
  /** AR-AT's γ (objective-ar-at.ts). */
  readonly arAtWeight: number;
  /** Label smoothing of the router's type targets (0: hard labels). */
  readonly typeSmoothing: number;
  readonly seed: number;
  readonly augment: boolean;
  /** Save `latest` every this many steps inside an epoch (0: only at epoch ends). */
  readonly checkpointEvery: number;
  /**
   * Worker threads that share each step (1: the single-thread step). Shards are batch-normalised
   * separately, so a run with 2 is not bit-identical to one with 1; a resume may change it.
   */
  readonly workers: number;
  /** Checkpoint whose matching variables initialise a new run (null: fresh initialisation). */
  readonly initFrom: string | null;
  /** Variable-name prefixes (`main`, `router/signal`) whose variables this run leaves unchanged (freeze.ts). */
  readonly freeze: readonly string[];
  readonly teacherClean: string | null;
  readonly teacherAdv: string | null;
  readonly out: string;
}

/**
 * Defaults sized for `fmnist-tiny` on a 2-core CPU. The training attack is PGD-5 with step
 * 2.5·eps/5 (the usual 2.5·eps/steps rule); validation uses PGD-10 with step eps/4.
 */
export const TRAIN_DEFAULTS = {
  preset: 'fmnist-tiny',
  variant: 'awnet' as Variant,
  mode: 'pgd-at' as TrainMode,
  dataset: 'fashion-mnist' as DatasetName,
  epochs: 10,
  batchSize: 128,
  lr: 0.05,
  lrSchedule: 'cosine' as LrScheduleName,
  warmupEpochs: 0,
  optimizer: 'sgd' as OptimizerName,
  momentum: 0.9,
  weightDecay: 5e-4,
  attackSteps: 5,
  tradesBeta: 6,
  ...OBJECTIVE_DEFAULTS,
  seed: 1,
  valPgdSize: 500,
  valAttackSteps: 10,
  valAdaptiveLambdas: [1, 10] as readonly number[],
  valSquareQueries: 300,
  typeSmoothing: 0,
  attack: 'pgd' as TrainingAttackName,
  evasionShare: 0,
  evasionLambdas: [1, 10] as readonly number[],
  evasionOmega: 'own' as EvasionOmega,
  evasionStepSize: null as number | null,
  benignShare: 0,
  benignKinds: CORRUPTION_KINDS,
  matchedNoiseShare: 0,
  timeBudgetMinutes: null as number | null,
  checkpointEvery: 100,
  workers: 1,
  initFrom: null as string | null,
  freeze: [] as readonly string[],
} as const;

export function defaultEps(dataset: DatasetName): number {
  return DATASETS[dataset].defaultEps;
}

/** 2.5·eps/steps (Madry et al.'s rule of thumb), so the PGD attack can cross the ball. */
export function defaultAttackStepSize(eps: number, steps: number): number {
  return (2.5 * eps) / steps;
}

/** 5000 or a tenth of the data, whichever is smaller. */
export function defaultValSize(count: number): number {
  return Math.min(5000, Math.floor(count / 10));
}

/** Settings that may change between a run and its `--resume`. */
const RESUMABLE_CHANGES: readonly (keyof TrainSettings)[] = ['epochs', 'checkpointEvery', 'out', 'dataDir', 'workers', 'timeBudgetMinutes'];

/** Names the settings in which `now` differs from the run being resumed. */
export function resumeConflicts(saved: TrainSettings, now: TrainSettings): string[] {
  const conflicts: string[] = [];
  for (const key of Object.keys(now) as (keyof TrainSettings)[]) {
    if (RESUMABLE_CHANGES.includes(key)) continue;
    // A setting added after the run began: the run trained with its default.
    const fallback = key in saved ? null : ((TRAIN_DEFAULTS as Record<string, unknown>)[key] ?? null);
    const a = JSON.stringify(saved[key] ?? fallback);
    const b = JSON.stringify(now[key] ?? null);
    if (a !== b) conflicts.push(`${key}: checkpoint has ${a}, command has ${b}`);
  }
  return conflicts;
}

function requireInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new TrainError('TRAIN_BAD_OPTION', `${name} must be an integer ≥ ${min}, got ${value}`);
  }
}

function requireNumber(name: string, value: number, min: number, max = Number.POSITIVE_INFINITY): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new TrainError('TRAIN_BAD_OPTION', `${name} must be a number in [${min}, ${max}], got ${value}`);
  }
}

export function checkSettings(s: TrainSettings): void {
  requireInt('--epochs', s.epochs, 1);
  requireInt('--batch-size', s.batchSize, 2);
  if (s.valSize !== null) requireInt('--val-size', s.valSize, 0);
  requireInt('--val-pgd-size', s.valPgdSize, 0);
  requireInt('--val-attack-steps', s.valAttackSteps, 1);
  requireInt('--val-square-queries', s.valSquareQueries, 0);
  requireInt('--attack-steps', s.attackSteps, 1);
  requireInt('--checkpoint-every', s.checkpointEvery, 0);
  requireInt('--seed', s.seed, 0);
  requireInt('--warmup-epochs', s.warmupEpochs, 0);
  requireInt('--workers', s.workers, 1);
  if (s.workers > s.batchSize) {
    throw new TrainError('TRAIN_BAD_OPTION', `--workers ${s.workers} exceeds --batch-size ${s.batchSize}; each worker needs at least one image per step`);
  }
  if (s.limit !== null) requireInt('--limit', s.limit, 1);
  requireNumber('--lr', s.lr, Number.MIN_VALUE);
  requireNumber('--momentum', s.momentum, 0, 0.999);
  requireNumber('--weight-decay', s.weightDecay, 0, 1);
  requireNumber('--eps', s.eps, 0, 1);
  requireNumber('--attack-step-size', s.attackStepSize, 0, 1);
  requireNumber('--beta', s.tradesBeta, 0);
  // Beyond ±10, tanh(λ ± 5) is flat: every weight would be the same.
  requireNumber('--gairat-lambda', s.gairatLambda, -10, 10);
  requireNumber('--gairat-burn-in', s.gairatBurnIn, 0, 1);
  requireNumber('--margin-weight', s.marginWeight, 0, 100);
  requireNumber('--margin-cap', s.marginCap, 0, 100);
  requireNumber('--ar-at-weight', s.arAtWeight, 0, 1000);
  requireNumber('--type-smoothing', s.typeSmoothing, 0, 0.5);
  requireNumber('--attack-noise', s.attackNoise, 0, 1);
  requireNumber('--evasion-share', s.evasionShare, 0, 1);
  if (s.evasionStepSize !== null) requireNumber('--evasion-step-size', s.evasionStepSize, 0, 1);
  requireNumber('--benign-share', s.benignShare, 0, 1);
  const unknownKinds = s.benignKinds.filter((k) => !CORRUPTION_KINDS.includes(k));
  const repeated = s.benignKinds.filter((k, i) => s.benignKinds.indexOf(k) !== i);
  if (repeated.length > 0) throw new TrainError('TRAIN_BAD_OPTION', `--benign-kinds names ${repeated.join(', ')} more than once; each kind is drawn equally often`);
  if (s.benignKinds.length === 0 || unknownKinds.length > 0) {
    throw new TrainError(
      'TRAIN_BAD_OPTION',
      `--benign-kinds must name at least one of ${CORRUPTION_KINDS.join(', ')}, got ${s.benignKinds.length === 0 ? 'none' : unknownKinds.join(', ')}`,
    );
  }
  requireNumber('--matched-noise-share', s.matchedNoiseShare, 0, 1);
  if (s.benignShare + s.matchedNoiseShare > 1) {
    throw new TrainError(
      'TRAIN_BAD_OPTION',
      `--benign-share ${s.benignShare} and --matched-noise-share ${s.matchedNoiseShare} add up to more than 1: they are shares of the same clean rows`,
    );
  }
  for (const l of s.evasionLambdas) requireNumber('--evasion-lambdas', l, 0);
  for (const l of s.valAdaptiveLambdas) requireNumber('--val-adaptive-lambdas', l, 0);
  if (s.timeBudgetMinutes !== null) requireNumber('--time-budget', s.timeBudgetMinutes, 0.05);
  if (s.attack !== 'pgd' && s.attackSteps !== 1) {
    throw new TrainError('TRAIN_BAD_OPTION', `--attack ${s.attack} is a single-step attack; --attack-steps must be 1, got ${s.attackSteps}`);
  }
  if (s.evasionShare > 0 && s.evasionLambdas.length === 0) {
    throw new TrainError('TRAIN_BAD_OPTION', '--evasion-share > 0 needs at least one λ in --evasion-lambdas');
  }
  if (s.mode === 'mtard' && (s.teacherClean === null || s.teacherAdv === null)) {
    throw new TrainError(
      'TRAIN_BAD_OPTION',
      '--mode mtard needs --teacher-clean <checkpoint> and --teacher-adv <checkpoint> (static baselines trained with --variant static, clean and adversarially)',
    );
  }
  if (s.mode !== 'mtard' && (s.teacherClean !== null || s.teacherAdv !== null)) {
    throw new TrainError('TRAIN_BAD_OPTION', `--teacher-clean/--teacher-adv only apply to --mode mtard, not ${s.mode}`);
  }
}

/** The objective settings these settings describe (what every step and worker needs). */
export function objectiveParamsOf(s: TrainSettings): ObjectiveParams {
  return { tradesBeta: s.tradesBeta, gairatLambda: s.gairatLambda, marginWeight: s.marginWeight, marginCap: s.marginCap, arAtWeight: s.arAtWeight };
}

/** The training attack these settings describe. */
export function attackOf(s: TrainSettings): TrainingAttack {
  return { ...trainingAttack(s.attack, s.eps), steps: s.attackSteps, stepSize: s.attackStepSize, noise: s.attackNoise };
}

export function evasionOf(s: TrainSettings): RouterEvasion {
  return {
    share: s.evasionShare,
    lambdas: s.evasionLambdas,
    omega: s.evasionOmega,
    ...(s.evasionStepSize !== null ? { stepSize: s.evasionStepSize } : {}),
  };
}
