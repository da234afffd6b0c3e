import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { buildConfig, createModel } from '../src/model/index.js';
import type { Model } from '../src/model/types.js';
import { repoRoot } from '../src/server/repo-root.js';
import { initBackend, type BackendName } from '../src/tf/backend.js';
import { crossEntropy } from '../src/train/losses.js';
import { initialAlpha } from '../src/train/objective.js';
import { addWeightDecay, createOptimizer } from '../src/train/optimizer.js';
import { defaultAttackStepSize, defaultEps, TRAIN_DEFAULTS } from '../src/train/settings.js';
import { decayingVariables, trainStep, type StepContext } from '../src/train/train-step.js';
import { adversarialRows, NO_EVASION, trainingAttack } from '../src/train/training-attack.js';
import { profileKernels, recordKernelCalls } from './kernel-profile.js';
import { ParallelPgdAt } from '../src/train/parallel-step.js';
import { distinctLayers, measureConvLayers } from './train-ops.js';
import { renderTrainSummary, type StepFigures, type Timing, type TrainBenchReport } from './train-report.js';

// npm run bench:train: training speed of fmnist-tiny AW-Net on the backend in use.

const program = new Command()
  .description('Measure training images/s of fmnist-tiny AW-Net (clean and PGD-AT steps) and project a PGD-AT epoch.')
  .option('--batch-size <n>', 'training batch size', (v) => Number(v), TRAIN_DEFAULTS.batchSize)
  .option('--attack-steps <n>', 'PGD steps of the training attack', (v) => Number(v), TRAIN_DEFAULTS.attackSteps)
  .option('--steps <n>', 'timed repetitions of each step', (v) => Number(v), 3)
  .option('--op-reps <n>', 'timed repetitions of each convolution', (v) => Number(v), 3)
  .option('--epoch-images <n>', 'images in the projected epoch', (v) => Number(v), 60000)
  .option('--workers <n>', 'worker threads of the data-parallel PGD-AT step (0: skip it)', (v) => Number(v), 2)
  .option('--out <file>', 'JSON report', path.join(repoRoot(), 'bench/reports/train.json'))
  .parse();
const opts = program.opts<{ batchSize: number; attackSteps: number; steps: number; opReps: number; epochImages: number; workers: number; out: string }>();
for (const [name, v] of Object.entries(opts)) {
  const min = name === 'workers' ? 0 : 1;
  if (typeof v === 'number' && !(Number.isInteger(v) && v >= min)) {
    const flag = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    process.stderr.write(`bench:train: --${flag} must be an integer ≥ ${min}, got ${v}\n`);
    process.exit(2);
  }
}

const GOAL_MINUTES = 20;
const log = (line: string) => process.stderr.write(`${line}\n`);
const loadBefore = os.loadavg();
const logLines: string[] = [];
const backend = await initBackend({ log: (l) => (logLines.push(l), log(l)) }).catch((err: unknown) => {
  process.stderr.write(`bench:train: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});

const batch = opts.batchSize;
const eps = defaultEps('fashion-mnist');
const attackStepSize = defaultAttackStepSize(eps, opts.attackSteps);
const data = await loadFashionMnist({ split: 'train', limit: batch });
const x = tf.tensor4d(data.images, [batch, 28, 28, 1]);
const labels = tf.tensor1d(data.labels, 'int32');

const model: Model = createModel(buildConfig('fmnist-tiny', 'awnet'), TRAIN_DEFAULTS.seed);
const optimizer = createOptimizer({ name: 'sgd', lr: TRAIN_DEFAULTS.lr, momentum: TRAIN_DEFAULTS.momentum });
const decaying = decayingVariables(model);
const ctx: StepContext = { model, optimizer, mode: 'pgd-at', tradesBeta: TRAIN_DEFAULTS.tradesBeta, weightDecay: TRAIN_DEFAULTS.weightDecay };

/** Mean wall and CPU seconds of `work` over the timed repetitions, after one warm-up run. */
function time(work: () => void, reps = opts.steps): Timing {
  work();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < reps; i++) work();
  const cpu = process.cpuUsage(cpu0);
  return { wallSeconds: (performance.now() - start) / 1000 / reps, cpuSeconds: (cpu.user + cpu.system) / 1e6 / reps };
}

function figures(t: Timing, images: number): StepFigures {
  return { ...t, images, imagesPerSecond: images / t.wallSeconds, imagesPerCpuSecond: images / t.cpuSeconds };
}

function attack(): tf.Tensor4D {
  return adversarialRows(model, x, labels, 'pgd-at', trainingAttack('pgd', eps, { steps: opts.attackSteps, stepSize: attackStepSize }), NO_EVASION, 1).xAdv;
}

function update(xAdv: tf.Tensor4D): void {
  trainStep(ctx, x, xAdv, labels, initialAlpha('pgd-at'), decaying);
}

// tfjs optimizers keep their slots by the position of each gradient, and the clean loss
// leaves the router's type head without one: the clean step gets its own optimizer.
const cleanOptimizer = createOptimizer({ name: 'sgd', lr: TRAIN_DEFAULTS.lr, momentum: TRAIN_DEFAULTS.momentum });

function cleanStep(): void {
  const { value, grads } = tf.variableGrads(
    () => crossEntropy(model.forward(x, { training: true }).logits, labels),
    model.trainableVariables(),
  );
  addWeightDecay(grads, decaying, TRAIN_DEFAULTS.weightDecay);
  cleanOptimizer.applyGradients(grads);
  tf.dispose([value, ...Object.values(grads)]);
}

log(`timing inference, clean and PGD-AT steps at batch ${batch} (${opts.steps} repetitions each)…`);
const inference = time(() => tf.tidy(() => void model.forward(x, { training: false }).logits.dataSync()));
const clean = time(cleanStep);
const fixedAdv = attack();
const attackTime = time(() => attack().dispose());
const updateTime = time(() => update(fixedAdv));
const pgdAt: Timing = {
  wallSeconds: attackTime.wallSeconds + updateTime.wallSeconds,
  cpuSeconds: attackTime.cpuSeconds + updateTime.cpuSeconds,
};

log('profiling one PGD-AT step…');
const fullStep = () => {
  const xAdv = attack();
  update(xAdv);
  xAdv.dispose();
};
const profile = profileKernels(fullStep);
const convCalls = recordKernelCalls(['Conv2D'], () => update(fixedAdv));
fixedAdv.dispose();

log('timing every convolution layer of the training step…');
const convolutions = measureConvLayers(distinctLayers(convCalls), opts.opReps);

async function dataParallel(): Promise<TrainBenchReport['dataParallel']> {
  if (opts.workers === 0) return null;
  log(`timing the data-parallel PGD-AT step over ${opts.workers} worker threads…`);
  const pool = await ParallelPgdAt.start(opts.workers, {
    backend: backend.backend as BackendName,
    preset: 'fmnist-tiny',
    variant: 'awnet',
    weightDecay: TRAIN_DEFAULTS.weightDecay,
    tradesBeta: TRAIN_DEFAULTS.tradesBeta,
  });
  try {
    const parallelOptimizer = createOptimizer({ name: 'sgd', lr: TRAIN_DEFAULTS.lr, momentum: TRAIN_DEFAULTS.momentum });
    const shard = { attack: trainingAttack('pgd', eps, { steps: opts.attackSteps, stepSize: attackStepSize }), evasion: NO_EVASION, seed: 1 };
    const run = () => pool.step(model, parallelOptimizer, data.images, data.labels, shard);
    await run();
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let attackSeconds = 0;
    for (let i = 0; i < opts.steps; i++) attackSeconds += (await run()).attackSeconds;
    const cpu = process.cpuUsage(cpu0);
    const t: Timing = { wallSeconds: (performance.now() - start) / 1000 / opts.steps, cpuSeconds: (cpu.user + cpu.system) / 1e6 / opts.steps };
    return {
      workers: opts.workers,
      step: figures(t, batch),
      attackWallSeconds: attackSeconds / opts.steps,
      speedUp: t.wallSeconds === 0 ? 0 : pgdAt.wallSeconds / t.wallSeconds,
      projectedEpochMinutes: opts.epochImages / (batch / t.wallSeconds) / 60,
      projectedEpochMinutesOnIdleCores: opts.epochImages / (batch / (t.cpuSeconds / opts.workers)) / 60,
    };
  } finally {
    await pool.close();
  }
}

const parallel = await dataParallel();
const pgdAtFigures = figures(pgdAt, batch);
const singleThreadMinutes = opts.epochImages / pgdAtFigures.imagesPerSecond / 60;
const bestMinutes = Math.min(singleThreadMinutes, parallel?.projectedEpochMinutes ?? Number.POSITIVE_INFINITY);
const report: TrainBenchReport = {
  started: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg() },
  backend: { name: backend.backend, source: backend.source, detail: logLines.join(' ') },
  model: { preset: 'fmnist-tiny', variant: 'awnet', parameters: model.trainableVariables().reduce((s, v) => s + v.size, 0) },
  settings: { batchSize: batch, attackSteps: opts.attackSteps, eps, attackStepSize, timedSteps: opts.steps, epochImages: opts.epochImages },
  inference: figures(inference, batch),
  cleanStep: figures(clean, batch),
  pgdAtStep: { ...pgdAtFigures, attack: attackTime, update: updateTime },
  projectedPgdAtEpoch: {
    images: opts.epochImages,
    singleThreadMinutes,
    singleThreadMinutesOnAnIdleCore: opts.epochImages / pgdAtFigures.imagesPerCpuSecond / 60,
    dataParallelMinutes: parallel?.projectedEpochMinutes ?? null,
    bestMinutes,
    goalMinutes: GOAL_MINUTES,
    goalMet: bestMinutes <= GOAL_MINUTES,
  },
  dataParallel: parallel,
  profile: { ...profile, kernels: profile.kernels.slice(0, 25) },
  convolutions,
};

await mkdir(path.dirname(opts.out), { recursive: true });
await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${renderTrainSummary(report)}\nreport: ${opts.out}\n`);
model.dispose();
