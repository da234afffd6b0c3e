import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CIFAR10_DEFAULT_DIR } from '../data/cifar10.js';
import { CORRUPTION_KINDS, type CorruptionKind } from '../data/corruptions.js';
import { FASHION_MNIST_DEFAULT_DIR } from '../data/fashion-mnist.js';
import { parseDatasetName } from '../data/load.js';
import { DATASET_NAMES } from '../data/types.js';
import { PRESET_NAMES, type ConfigOverrides } from '../model/presets.js';
import { VARIANTS } from '../model/architecture.js';
import type { Variant } from '../model/types.js';
import { BACKEND_NAMES, initBackend, type BackendName } from '../tf/backend.js';
import { TRAIN_MODES, type TrainMode } from '../train/modes.js';
import { OPTIMIZERS, type OptimizerName } from '../train/optimizer.js';
import { budgetNote, progressHooks } from '../train/progress.js';
import { RunFiles } from '../train/run-files.js';
import { LR_SCHEDULES, type LrScheduleName } from '../train/schedule.js';
import { defaultEps, TRAIN_DEFAULTS, type TrainSettings } from '../train/settings.js';
import { EVASION_OMEGAS, trainingAttack, TRAINING_ATTACKS, type EvasionOmega, type TrainingAttackName } from '../train/training-attack.js';
import { train } from '../train/trainer.js';
import { checkpointOrSelf } from '../contract/run-directory.js';
import { listOf, mixCap, nameList, nonNegativeInt, nonNegativeNumber, nonNegativeNumberList, number, omegaBound, oneOf, positiveInt, positiveIntList } from './options.js';
import { action } from './report.js';

interface RawOptions {
  preset: string;
  variant: Variant;
  mode: TrainMode;
  dataset: string;
  dataDir?: string;
  limit?: number;
  skipCorrupt: boolean;
  valSize?: number;
  valPgdSize: number;
  valAttackSteps: number;
  valAdaptiveLambdas: number[];
  valSquareQueries: number;
  epochs: number;
  timeBudget?: number;
  batchSize: number;
  lr: number;
  lrSchedule: LrScheduleName;
  warmupEpochs: number;
  optimizer: OptimizerName;
  momentum: number;
  weightDecay: number;
  eps?: number;
  attack: TrainingAttackName;
  attackSteps?: number;
  attackStepSize?: number;
  attackNoise?: number;
  evasionShare: number;
  evasionLambdas: number[];
  evasionOmega: EvasionOmega;
  evasionStepSize?: number;
  benignShare: number;
  benignKinds: CorruptionKind[];
  matchedNoiseShare: number;
  beta: number;
  gairatLambda: number;
  gairatBurnIn: number;
  marginWeight: number;
  marginCap: number;
  arAtWeight: number;
  typeSmoothing: number;
  seed: number;
  augment: boolean;
  checkpointEvery: number;
  workers: number;
  out?: string;
  resume: boolean;
  initFrom?: string;
  freeze: string[];
  teacherClean?: string;
  teacherAdv?: string;
  backend?: BackendName;
  stem?: number;
  widths?: number[];
  blocks?: number[];
  routerStem?: number;
  routerWidths?: number[];
  routerBlocks?: number[];
  omegaBeta?: number;
  bnMomentum?: number;
  mixCap?: number;
  omegaBound?: number | null;
}

function overridesFrom(o: RawOptions): ConfigOverrides {
  const main = {
    ...(o.stem !== undefined ? { stem: o.stem } : {}),
    ...(o.widths !== undefined ? { widths: o.widths } : {}),
    ...(o.blocks !== undefined ? { blocks: o.blocks } : {}),
  };
  const router = {
    ...(o.routerStem !== undefined ? { stem: o.routerStem } : {}),
    ...(o.routerWidths !== undefined ? { widths: o.routerWidths } : {}),
    ...(o.routerBlocks !== undefined ? { blocks: o.routerBlocks } : {}),
  };
  return {
    ...(Object.keys(main).length > 0 ? { main } : {}),
    ...(Object.keys(router).length > 0 ? { router } : {}),
    ...(o.omegaBeta !== undefined ? { beta: o.omegaBeta } : {}),
    ...(o.bnMomentum !== undefined ? { bnMomentum: o.bnMomentum } : {}),
    ...(o.mixCap !== undefined || o.omegaBound !== undefined ? { hold: { pCleanCap: o.mixCap ?? 1, omegaBound: o.omegaBound ?? null } } : {}),
  };
}

/** Resolves the command line into settings (paths made absolute, data-dependent defaults filled). */
function settingsFrom(o: RawOptions): TrainSettings {
  const dataset = parseDatasetName(o.dataset);
  const eps = o.eps ?? defaultEps(dataset);
  const attack = trainingAttack(o.attack, eps, {
    ...(o.attackSteps !== undefined ? { steps: o.attackSteps } : {}),
    ...(o.attackStepSize !== undefined ? { stepSize: o.attackStepSize } : {}),
    ...(o.attackNoise !== undefined ? { noise: o.attackNoise } : {}),
  });
  return {
    preset: o.preset,
    variant: o.variant,
    mode: o.mode,
    overrides: overridesFrom(o),
    dataset,
    dataDir: o.dataDir !== undefined ? resolve(o.dataDir) : null,
    limit: o.limit ?? null,
    skipCorrupt: o.skipCorrupt,
    valSize: o.valSize ?? null,
    valPgdSize: o.valPgdSize,
    valAttackSteps: o.valAttackSteps,
    valAdaptiveLambdas: o.valAdaptiveLambdas,
    valSquareQueries: o.valSquareQueries,
    epochs: o.epochs,
    timeBudgetMinutes: o.timeBudget ?? null,
    batchSize: o.batchSize,
    lr: o.lr,
    lrSchedule: o.lrSchedule,
    warmupEpochs: o.warmupEpochs,
    optimizer: o.optimizer,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    eps,
    attack: o.attack,
    // A single-step attack given --attack-steps keeps it, so checkSettings can name the clash.
    attackSteps: o.attack === 'pgd' ? attack.steps : (o.attackSteps ?? 1),
    attackStepSize: attack.stepSize,
    attackNoise: attack.noise,
    evasionShare: o.evasionShare,
    evasionLambdas: o.evasionLambdas,
    evasionOmega: o.evasionOmega,
    evasionStepSize: o.evasionStepSize ?? null,
    benignShare: o.benignShare,
    benignKinds: o.benignKinds,
    matchedNoiseShare: o.matchedNoiseShare,
    tradesBeta: o.beta,
    gairatLambda: o.gairatLambda,
    gairatBurnIn: o.gairatBurnIn,
    marginWeight: o.marginWeight,
    marginCap: o.marginCap,
    arAtWeight: o.arAtWeight,
    typeSmoothing: o.typeSmoothing,
    seed: o.seed,
    augment: o.augment,
    checkpointEvery: o.checkpointEvery,
    workers: o.workers,
    initFrom: o.initFrom !== undefined ? resolve(o.initFrom) : null,
    freeze: o.freeze,
    teacherClean: o.teacherClean !== undefined ? resolve(o.teacherClean) : null,
    teacherAdv: o.teacherAdv !== undefined ? resolve(o.teacherAdv) : null,
    out: resolve(o.out ?? `runs/${o.preset}-${o.variant}-${o.mode}`),
  };
}

export function registerTrainCommand(program: Command): void {
  const d = TRAIN_DEFAULTS;
  program
    .command('train')
    .description(
      'Adversarially train AW-Net (or a baseline) and write checkpoints, a JSONL log and a summary into --out. ' +
        'Ctrl-C saves a checkpoint; --resume continues from the last one.',
    )
    .addOption(new Option('--preset <name>', 'model preset').choices(PRESET_NAMES).default(d.preset))
    .addOption(new Option('--variant <name>', 'network: full AW-Net, static baseline or an ablation').choices(VARIANTS).default(d.variant))
    .addOption(new Option('--mode <name>', 'training objective (docs/training.md, "Objectives")').choices(TRAIN_MODES).default(d.mode))
    .addOption(new Option('--dataset <name>', 'training data').choices(DATASET_NAMES).default(d.dataset))
    .option('--data-dir <dir>', `dataset directory (defaults: fashion-mnist ${FASHION_MNIST_DEFAULT_DIR}, cifar10 ./${CIFAR10_DEFAULT_DIR}; image-folder needs one)`)
    .option('--limit <n>', 'use only the first N training images (smoke runs)', positiveInt)
    .option('--skip-corrupt', 'skip corrupt records/files and report how many', false)
    .option('--val-size <n>', 'training images held out for validation (default: 5000 or a tenth)', nonNegativeInt)
    .option('--val-pgd-size <n>', 'validation images attacked with PGD each epoch', nonNegativeInt, d.valPgdSize)
    .option('--val-attack-steps <n>', 'PGD steps of the validation attack (step eps/4)', positiveInt, d.valAttackSteps)
    .option('--val-adaptive-lambdas <list>', 'λ of the adaptive attacks each validation runs on the images PGD left correct (worst case per image)', nonNegativeNumberList, [...d.valAdaptiveLambdas])
    .option(
      '--val-square-queries <n>',
      'queries per image of the score-only Square Attack each validation runs on the images the gradient attacks left correct ' +
        '(part of the worst case: it sees through a router whose gradients vanish; 0: none)',
      nonNegativeInt,
      d.valSquareQueries,
    )
    .option('--epochs <n>', 'epochs (with --time-budget: the most epochs the plan may hold)', positiveInt, d.epochs)
    .option(
      '--time-budget <minutes>',
      'finish the whole run, validation included, within this many minutes of wall time: the number of steps is planned from measured ' +
        'throughput (re-planned as it goes) and the learning-rate schedule spans exactly those steps (use --lr-schedule one-cycle or linear-decay)',
      nonNegativeNumber,
    )
    .option('--batch-size <n>', 'clean images per step (each step trains on them and their PGD versions)', positiveInt, d.batchSize)
    .option('--lr <x>', 'peak learning rate', number, d.lr)
    .addOption(new Option('--lr-schedule <name>', 'learning-rate schedule (step: ×0.1 at 50% and 75%)').choices(LR_SCHEDULES).default(d.lrSchedule))
    .option('--warmup-epochs <n>', 'linear warm-up epochs', nonNegativeInt, d.warmupEpochs)
    .addOption(new Option('--optimizer <name>', 'optimizer (sgd is momentum SGD)').choices(OPTIMIZERS).default(d.optimizer))
    .option('--momentum <x>', 'SGD momentum', nonNegativeNumber, d.momentum)
    .option('--weight-decay <x>', 'L2 weight decay on conv and dense kernels', nonNegativeNumber, d.weightDecay)
    .option('--eps <x>', 'L∞ radius of the training attack (default 0.1 Fashion-MNIST, 8/255 CIFAR-10; 0 trains on clean images only)', nonNegativeNumber)
    .addOption(
      new Option(
        '--attack <name>',
        'training attack: pgd (random start, --attack-steps steps), fgsm-rs (FGSM with random start: start U(±eps), step 1.25·eps, projected), ' +
          'n-fgsm (N-FGSM: start U(±2·eps), step eps, not projected)',
      )
        .choices(TRAINING_ATTACKS)
        .default(d.attack),
    )
    .option('--attack-steps <n>', `PGD steps of the training attack (default ${d.attackSteps}; single-step attacks: 1)`, positiveInt)
    .option('--attack-step-size <x>', "step size (defaults: pgd min(2.5·eps/steps, eps/2), fgsm-rs 1.25·eps, n-fgsm eps)", nonNegativeNumber)
    .option('--attack-noise <x>', 'half-width of the random start (defaults: eps; n-fgsm 2·eps)', nonNegativeNumber)
    .option(
      '--evasion-share <x>',
      'share of each batch\'s adversarial rows whose attack also drives the router towards "clean" (objective + λ·log P(clean)); ' +
        'they are labelled adversarial for the type head and train the clean-statistics path of MixBN',
      nonNegativeNumber,
      d.evasionShare,
    )
    .option('--evasion-lambdas <list>', 'λ values the router-evading rows draw from', nonNegativeNumberList, [...d.evasionLambdas])
    .addOption(
      new Option(
        '--evasion-omega <which>',
        "the filter scaling ω of router-evading rows in training: own (the router's answer to the attack) or clean (their clean image's: " +
          'the mode a fooled router would choose)',
      )
        .choices(EVASION_OMEGAS)
        .default(d.evasionOmega),
    )
    .option(
      '--evasion-step-size <x>',
      "signed-gradient step of the router-evading rows (default: the training attack's step); a smaller one keeps them " +
        'within reach of the router while the other rows train the network against a stronger attack',
      nonNegativeNumber,
    )
    .option(
      '--benign-share <x>',
      'share of each batch\'s clean rows given a random benign change (noise, JPEG, blur, brightness, contrast, offset; see --benign-kinds), still labelled clean',
      nonNegativeNumber,
      d.benignShare,
    )
    .option(
      '--benign-kinds <list>',
      `the benign changes those rows draw from, each equally likely (${CORRUPTION_KINDS.join(', ')}; docs/training.md gives their ranges)`,
      listOf(oneOf(CORRUPTION_KINDS), 'uniform,gaussian,jpeg'),
      [...d.benignKinds],
    )
    .option(
      '--matched-noise-share <x>',
      "share of each batch's clean rows given the training attack's random start alone (uniform ±attack noise), still labelled clean, " +
        'so the router cannot take that noise for the attack (with --benign-share at most 1)',
      nonNegativeNumber,
      d.matchedNoiseShare,
    )
    .option('--beta <x>', 'TRADES β (weight of the KL term)', nonNegativeNumber, d.tradesBeta)
    .option(
      '--gairat-lambda <x>',
      'GAIRAT λ in [-10, 10]: each adversarial row weighs (1 + tanh(λ + 5·(1 − 2κ/K)))/2, normalised over the batch, κ the attack steps it survived ' +
        '(larger λ: flatter weights)',
      number,
      d.gairatLambda,
    )
    .option('--gairat-burn-in <x>', "GAIRAT: share of the run's steps trained as plain PGD-AT before the reweighting starts (0 to 1)", nonNegativeNumber, d.gairatBurnIn)
    .option('--margin-weight <x>', 'margin: weight μ of the average-margin term μ·mean(max(0, τ − logit margin)) on the adversarial rows', nonNegativeNumber, d.marginWeight)
    .option('--margin-cap <x>', 'margin: the logit margin τ (true-class logit minus the largest other) up to which the term pushes each row', nonNegativeNumber, d.marginCap)
    .option(
      '--ar-at-weight <x>',
      "AR-AT: weight γ of the asymmetric invariance term −cos(h(z_adv), stop-gradient(z_clean)) on the pooled features (h: a training-only predictor head)",
      nonNegativeNumber,
      d.arAtWeight,
    )
    .option(
      '--type-smoothing <x>',
      "label smoothing of the router's type targets (clean 1 − x/2, adversarial x/2): keeps P(clean) from saturating, so attacks keep its gradient",
      nonNegativeNumber,
      d.typeSmoothing,
    )
    .option('--seed <n>', 'seed of initialisation, split, data order, augmentation and attacks', nonNegativeInt, d.seed)
    .option('--no-augment', 'turn off random crop and flip')
    .option('--checkpoint-every <n>', 'also save a checkpoint every N steps inside an epoch (0: epoch ends only)', nonNegativeInt, d.checkpointEvery)
    .option(
      '--workers <n>',
      'worker threads sharing each step, one backend (one core) each: the batch is split into shards whose PGD attack and gradients run in parallel, ' +
        'and the main thread applies the averaged update. Shards are batch-normalised separately (as in ordinary data-parallel training), ' +
        'so --workers 2 is not bit-identical to --workers 1; a --resume may change it. With --mode mtard every worker loads both teachers',
      positiveInt,
      d.workers,
    )
    .option('--out <dir>', 'run directory (default runs/<preset>-<variant>-<mode>)')
    .option('--resume', 'continue the run in --out from its last checkpoint', false)
    .option(
      '--init-from <checkpoint>',
      'start a new run from the variables of this checkpoint (or run directory: its latest) that the model shares, e.g. an AW-Net from a ' +
        "static baseline: its network and BatchNorm (into both MixBN sets); the router keeps its initialisation",
    )
    .option(
      '--freeze <prefixes>',
      'comma-separated variable-name prefixes this run leaves unchanged, e.g. main (the whole network and classifier) to train ' +
        "only an AW-Net's router on a network taken with --init-from; BatchNorm running statistics still follow the batches",
      nameList,
      [...d.freeze],
    )
    .option('--teacher-clean <checkpoint>', 'MTARD: the clean teacher (e.g. a static baseline trained with --eps 0)')
    .option('--teacher-adv <checkpoint>', 'MTARD: the robust teacher (e.g. a static baseline trained with pgd-at)')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (default: best available; env AWNET_TF_BACKEND)').choices(BACKEND_NAMES))
    .option('--stem <n>', 'main network stem width', positiveInt)
    .option('--widths <list>', 'main network stage widths, e.g. 16,32,64', positiveIntList)
    .option('--blocks <list>', 'main network blocks per stage, e.g. 1,1,1', positiveIntList)
    .option('--router-stem <n>', 'router stem width', positiveInt)
    .option('--router-widths <list>', 'router stage widths', positiveIntList)
    .option('--router-blocks <list>', 'router blocks per stage', positiveIntList)
    .option('--omega-beta <x>', 'exponent β of the signal heads ω = (tanh(·) + 1)^β', nonNegativeNumber)
    .option('--bn-momentum <x>', 'BatchNorm running-statistics momentum', nonNegativeNumber)
    .option('--mix-cap <c>', "router hold recorded in the model: MixBN mixes with min(P(clean), c) at inference (the training attacks and validation see it; the adversarial score does not), in [0, 1] (default 1)", mixCap)
    .option('--omega-bound <b>', 'router hold recorded in the model: ω clipped to [1 − b, 1 + b] at inference, or none (default none)', omegaBound)
    .action(action('train', runTrain));
}

async function runTrain(raw: RawOptions): Promise<void> {
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  // Teachers and --init-from follow the rule of every command that reads a checkpoint: a run directory means its latest.
  const checkpoint = async (path: string | undefined): Promise<string | undefined> => (path === undefined ? undefined : (await checkpointOrSelf(path)).dir);
  const settings = settingsFrom({
    ...raw,
    initFrom: await checkpoint(raw.initFrom),
    teacherClean: await checkpoint(raw.teacherClean),
    teacherAdv: await checkpoint(raw.teacherAdv),
  });
  const backend = await initBackend({ ...(raw.backend !== undefined ? { backend: raw.backend } : {}), log });
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    log('interrupt: finishing the current step and saving a checkpoint (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const hooks = progressHooks({ log });
  try {
    const result = await train(settings, { resume: raw.resume, hooks, signal: controller.signal });
    hooks.stop();
    if (result.status === 'interrupted') {
      process.exitCode = 130;
      return;
    }
    const files = new RunFiles(settings.out);
    const last = result.lastRecord;
    await files.writeSummary({
      command: ['awnet', ...process.argv.slice(2)].join(' '),
      backend,
      settings,
      globalSteps: result.globalStep,
      trainingSeconds: result.totalSeconds,
      checkpoint: result.checkpoint,
      best: result.state.best === null ? null : { ...result.state.best, checkpoint: files.best },
      catastrophicOverfittingEpochs: result.state.overfitEpochs,
      budget:
        settings.timeBudgetMinutes === null
          ? null
          : {
              minutes: settings.timeBudgetMinutes,
              plannedSeconds: result.state.firstPlanSeconds,
              actualSeconds: result.totalSeconds,
              plannedSteps: result.state.plannedSteps,
              steps: result.globalStep,
            },
      final: last,
      finishedAt: new Date().toISOString(),
    });
    const best = result.state.best;
    log(
      `done: ${result.globalStep} steps in ${result.totalSeconds.toFixed(0)} s` +
        (settings.timeBudgetMinutes === null ? '' : ` (${budgetNote(settings.timeBudgetMinutes, result.state.firstPlanSeconds)})`) +
        `; model ${result.checkpoint}` +
        (best === null ? '' : `; best ${files.best} (epoch ${best.epoch}, val W-Robust ${(100 * best.valWRobust).toFixed(1)} %)`) +
        `; log ${files.log}`,
    );
  } finally {
    hooks.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
