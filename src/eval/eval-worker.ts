import { parentPort, workerData } from 'node:worker_threads';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { Model } from '../model/types.js';
import { initBackend, type BackendName } from '../tf/backend.js';
import { attackSuite, selectAttacks } from './attack-suite.js';
import { batchRange, planStages, runBatch, stageCost, type BatchOutputs } from './batch-runner.js';

/** Everything a worker needs to rebuild the evaluation (functions cannot cross threads). */
export interface WorkerSetup {
  readonly backend: BackendName;
  readonly checkpoints: readonly string[];
  /** NHWC pixels of the whole test set, shared with the main thread. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly shape: { readonly height: number; readonly width: number; readonly channels: number };
  readonly eps: number;
  readonly attackIds: readonly string[];
  readonly adaptiveLambda: number;
  readonly curveEps: readonly number[];
  readonly curveSteps: number;
  readonly batchSize: number;
  readonly seed: number;
}

export type ToWorker = { readonly type: 'task'; readonly model: number; readonly batch: number } | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly model: number; readonly batch: number; readonly stage: string; readonly units: number }
  | { readonly type: 'result'; readonly model: number; readonly batch: number; readonly outputs: BatchOutputs }
  | { readonly type: 'failed'; readonly message: string; readonly code?: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('eval-worker.js runs only as a worker thread');
  const setup = workerData as WorkerSetup;
  const send = (message: FromWorker): void => port.postMessage(message);
  const models: Model[] = [];
  try {
    await initBackend({ backend: setup.backend, log: () => undefined });
    for (const checkpoint of setup.checkpoints) models.push((await loadCheckpoint(checkpoint)).model);
    const attacks = selectAttacks(attackSuite(setup.eps, { adaptiveLambda: setup.adaptiveLambda }), setup.attackIds);
    const plan = planStages(attacks, setup.curveEps, setup.curveSteps);
    const perImage = setup.shape.height * setup.shape.width * setup.shape.channels;
    const count = setup.labels.length;

    const run = async ({ model: index, batch }: { model: number; batch: number }): Promise<void> => {
      const task = { model: index, batch };
      const model = models[index];
      if (model === undefined) throw new Error(`no model ${index}`);
      const { start, end } = batchRange(count, setup.batchSize, batch);
      const input = {
        images: setup.images.subarray(start * perImage, end * perImage),
        labels: setup.labels.subarray(start, end),
        shape: setup.shape,
      };
      const outputs = await runBatch(model, input, plan, setup.seed, batch, (stage, finished) => {
        const spec = plan.stages[stage];
        const units = finished ? (spec === undefined ? 1 : stageCost(spec)) : 0;
        send({ type: 'progress', ...task, stage: spec === undefined ? 'clean' : spec.label, units });
      });
      send({ type: 'result', ...task, outputs });
    };

    await new Promise<void>((resolve, reject) => {
      port.on('message', (message: ToWorker) => {
        if (message.type === 'stop') resolve();
        else run(message).catch(reject);
      });
      send({ type: 'ready' });
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    send({
      type: 'failed',
      message: err instanceof Error ? (typeof code === 'string' ? err.message : (err.stack ?? err.message)) : String(err),
      ...(typeof code === 'string' ? { code } : {}),
    });
  } finally {
    for (const m of models) m.dispose();
    port.close();
  }
}

await main();
