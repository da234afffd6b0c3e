import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/types.js';
import type { StepFigures } from './train-step.js';
import type { RouterEvasion, TrainingAttack } from './training-attack.js';
import { sortedVariables, type FromParallelWorker, type ParallelSetup, type ShardTask } from './parallel-protocol.js';

/**
 * A data-parallel adversarial-training step (any objective; MTARD's workers load its
 * teachers) over worker threads, each with its own tfjs backend and copy of the model (the
 * wasm backend computes on one thread, so N workers use N cores). Per step: the main model's variables go to every worker; each attacks its
 * shard and runs the trainer's own trainStep on [clean; adversarial] with an optimiser
 * that only records the gradients; the main thread applies their mean with its real
 * optimiser and takes the mean of the workers' BN running statistics.
 *
 * As in any data-parallel training without synchronised batch norm, each shard is
 * normalised with its own batch statistics, so a step equals the single-thread step
 * only with one worker.
 */

export interface ShardOptions {
  readonly attack: TrainingAttack;
  readonly evasion: RouterEvasion;
  readonly seed: number;
  readonly alpha?: { readonly alphaNat: number; readonly alphaAdv: number };
  /** GAIRAT: false during its burn-in; default true. */
  readonly reweight?: boolean;
}

export interface ParallelStepResult {
  readonly figures: StepFigures;
  /** The slowest worker's attack and update seconds. */
  readonly attackSeconds: number;
  readonly updateSeconds: number;
}

type Done = Extract<FromParallelWorker, { type: 'done' }>;

export class ParallelPgdAt {
  private constructor(private readonly workers: Worker[]) {}

  static async start(count: number, setup: ParallelSetup): Promise<ParallelPgdAt> {
    const url = new URL('./parallel-worker.js', import.meta.url);
    const workers = Array.from({ length: count }, () => new Worker(url, { workerData: setup }));
    try {
      await Promise.all(workers.map((w) => nextMessage(w, 'ready')));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new ParallelPgdAt(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** One adversarial-training step on images [N, H, W, C] (NHWC values) and labels [N], applied to `model`. */
  async step(model: Model, optimizer: tf.Optimizer, images: Float32Array, labels: Int32Array, options: ShardOptions): Promise<ParallelStepResult> {
    const variables = sortedVariables(model);
    const weights = new Float32Array(variables.reduce((s, [, v]) => s + v.size, 0));
    let offset = 0;
    for (const [, v] of variables) {
      weights.set(v.dataSync(), offset);
      offset += v.size;
    }
    const n = labels.length;
    const perImage = images.length / n;
    const shards = this.workers.map((_, i) => {
      const start = Math.floor((i * n) / this.workers.length);
      const end = Math.floor(((i + 1) * n) / this.workers.length);
      return { start, end };
    });
    const results = await Promise.all(
      this.workers.map((worker, i) => {
        const { start, end } = shards[i]!;
        const task: ShardTask = {
          type: 'step',
          weights,
          images: images.slice(start * perImage, end * perImage),
          labels: labels.slice(start, end),
          ...options,
          // Each shard gets its own random start, as a batch of its own would.
          seed: options.seed + i * 7919,
        };
        const reply = nextMessage(worker, 'done') as Promise<Done>;
        worker.postMessage(task);
        return reply;
      }),
    );
    const share = shards.map(({ start, end }) => (end - start) / n);
    this.apply(model, variables, results, share, optimizer);
    return {
      figures: combineFigures(results.map((r) => r.figures)),
      attackSeconds: Math.max(...results.map((r) => r.seconds.attack)),
      updateSeconds: Math.max(...results.map((r) => r.seconds.update)),
    };
  }

  private apply(model: Model, variables: [string, tf.Variable][], results: Done[], share: number[], optimizer: tf.Optimizer): void {
    const grads: tf.NamedTensorMap = {};
    let gOffset = 0;
    let wOffset = 0;
    tf.tidy(() => {
      for (const [, v] of variables) {
        const mean = new Float32Array(v.size);
        const source = (r: Done) => (v.trainable ? r.grads.subarray(gOffset, gOffset + v.size) : r.weights.subarray(wOffset, wOffset + v.size));
        results.forEach((r, i) => {
          const part = source(r);
          for (let j = 0; j < mean.length; j++) mean[j]! += share[i]! * part[j]!;
        });
        if (v.trainable) {
          grads[v.name] = tf.keep(tf.tensor(mean, v.shape));
          gOffset += v.size;
        } else {
          v.assign(tf.tensor(mean, v.shape));
        }
        wOffset += v.size;
      }
    });
    // tfjs optimisers keep their slots (momentum, Adam moments) by position, so the gradients go
    // in the single-thread step's order: a checkpoint's optimiser state then fits either path.
    const ordered: tf.NamedTensorMap = {};
    for (const v of model.trainableVariables()) ordered[v.name] = grads[v.name]!;
    optimizer.applyGradients(ordered);
    tf.dispose(Object.values(grads));
  }

  async close(): Promise<void> {
    for (const w of this.workers) w.postMessage({ type: 'stop' });
    await Promise.all(this.workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  }
}

function nextMessage(worker: Worker, type: 'ready' | 'done'): Promise<FromParallelWorker> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromParallelWorker) => {
      cleanup();
      if (m.type === 'failed') reject(new Error(`training worker failed: ${m.message}`));
      else if (m.type !== type) reject(new Error(`training worker sent '${m.type}', expected '${type}'`));
      else resolve(m);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`training worker exited with code ${code}`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Losses weighted by rows; counts summed. */
function combineFigures(parts: readonly StepFigures[]): StepFigures {
  const count = parts.reduce((s, p) => s + p.count, 0);
  const mean = (pick: (p: StepFigures) => number) => parts.reduce((s, p) => s + pick(p) * p.count, 0) / count;
  const sum = (pick: (p: StepFigures) => number) => parts.reduce((s, p) => s + pick(p), 0);
  return {
    loss: mean((p) => p.loss),
    lossType: mean((p) => p.lossType),
    lossNat: mean((p) => p.lossNat),
    lossAdv: mean((p) => p.lossAdv),
    correctClean: sum((p) => p.correctClean),
    correctAdv: sum((p) => p.correctAdv),
    typeCorrect: sum((p) => p.typeCorrect),
    count,
  };
}
