import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../model/checkpoint.js';
import { buildConfig, createModel } from '../model/index.js';
import type { Model } from '../model/types.js';
import { initBackend } from '../tf/backend.js';
import { initialAlpha } from './objective.js';
import { decayingVariables, objectiveParams, trainStep, type StepContext } from './train-step.js';
import { adversarialRows } from './training-attack.js';
import { sortedVariables, type FromParallelWorker, type ParallelSetup, type ShardTask, type ToParallelWorker } from './parallel-protocol.js';

// One training worker of ParallelPgdAt (parallel-step.ts).

/**
 * An optimiser that applies nothing: it keeps the gradients it is handed, so the
 * trainer's own trainStep computes a worker's gradients unchanged.
 */
class GradientCapture extends tf.Optimizer {
  captured = new Map<string, Float32Array>();
  override applyGradients(grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    const entries = Array.isArray(grads) ? grads.map((g) => [g.name, g.tensor] as const) : Object.entries(grads);
    for (const [name, t] of entries) this.captured.set(name, t.dataSync() as Float32Array);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}

function runShard(model: Model, ctx: StepContext, capture: GradientCapture, decaying: ReadonlyMap<string, tf.Variable>, task: ShardTask): FromParallelWorker {
  const variables = sortedVariables(model);
  let offset = 0;
  for (const [, v] of variables) {
    const value = tf.tensor(task.weights.subarray(offset, offset + v.size), v.shape);
    v.assign(value);
    value.dispose();
    offset += v.size;
  }
  const n = task.labels.length;
  const [h, w, c] = [model.config.input.height, model.config.input.width, model.config.input.channels];
  const x = tf.tensor4d(task.images, [n, h, w, c]);
  const labels = tf.tensor1d(task.labels, 'int32');
  try {
    const t0 = performance.now();
    const { xAdv, evading, kappa } =
      task.attack.eps === 0 ? { xAdv: tf.clone(x), evading: 0, kappa: null } : adversarialRows(model, x, labels, ctx.mode, task.attack, task.evasion, task.seed);
    const t1 = performance.now();
    capture.captured.clear();
    const survival = { kappa, attackSteps: task.attack.steps, reweight: task.reweight ?? true };
    const figures = trainStep(ctx, x, xAdv, labels, task.alpha ?? initialAlpha(ctx.mode), decaying, evading, task.evasion.omega, survival);
    xAdv.dispose();
    const t2 = performance.now();
    const trainable = variables.filter(([, v]) => v.trainable);
    const grads = new Float32Array(trainable.reduce((s, [, v]) => s + v.size, 0));
    offset = 0;
    for (const [name, v] of trainable) {
      const g = capture.captured.get(v.name);
      if (g === undefined) throw new Error(`the step produced no gradient for ${name}`);
      grads.set(g, offset);
      offset += v.size;
    }
    const weights = new Float32Array(task.weights.length);
    offset = 0;
    for (const [, v] of variables) {
      weights.set(v.dataSync(), offset);
      offset += v.size;
    }
    return { type: 'done', grads, weights, figures, seconds: { attack: (t1 - t0) / 1000, update: (t2 - t1) / 1000 } };
  } finally {
    tf.dispose([x, labels]);
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('parallel-worker.js runs only as a worker thread');
  const setup = workerData as ParallelSetup;
  const send = (m: FromParallelWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  await initBackend({ backend: setup.backend, log: () => undefined });
  // The weights come with every task, so the initialisation seed does not matter.
  const model = createModel(buildConfig(setup.preset, setup.variant, setup.overrides ?? {}), 0);
  const decaying = decayingVariables(model);
  const capture = new GradientCapture();
  // The main thread has checked the teachers against the student before starting the workers.
  const teachers = setup.teachers
    ? { clean: (await loadCheckpoint(setup.teachers.clean)).model, adv: (await loadCheckpoint(setup.teachers.adv)).model }
    : undefined;
  const ctx: StepContext = {
    model,
    optimizer: capture,
    mode: setup.mode ?? 'pgd-at',
    ...objectiveParams(setup),
    typeSmoothing: setup.typeSmoothing ?? 0,
    weightDecay: setup.weightDecay,
    ...(teachers ? { teachers } : {}),
  };
  port.on('message', (message: ToParallelWorker) => {
    if (message.type === 'stop') {
      model.dispose();
      teachers?.clean.dispose();
      teachers?.adv.dispose();
      port.close();
      return;
    }
    try {
      const result = runShard(model, ctx, capture, decaying, message);
      send(result, result.type === 'done' ? [result.grads.buffer as ArrayBuffer, result.weights.buffer as ArrayBuffer] : []);
    } catch (err) {
      send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
  send({ type: 'ready' });
}

await main();
