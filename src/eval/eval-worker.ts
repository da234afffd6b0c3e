import { parentPort, workerData } from 'node:worker_threads';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { Model, RouterHold } from '../model/types.js';
import { initBackend, type BackendName } from '../tf/backend.js';
import { evaluationSuite, selectAttacks } from './attack-suite.js';
import { attackRowsOf, batchRange, planStages, runBatch, type BatchOutputs } from './batch-runner.js';
import { benignSettings } from './benign.js';

/** Everything a worker needs to rebuild the evaluation (functions cannot cross threads). */
export interface WorkerSetup {
  readonly backend: BackendName;
  /** Each model's checkpoint and the router hold it runs under. */
  readonly models: readonly { readonly checkpoint: string; readonly hold: RouterHold }[];
  /** NHWC pixels of the whole test set, shared with the main thread. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly shape: { readonly height: number; readonly width: number; readonly channels: number };
  readonly eps: number;
  /** Exact attack ids of the suite built from `adaptiveLambdas`. */
  readonly attackIds: readonly string[];
  readonly adaptiveLambdas: readonly number[];
  readonly idPerLambda: boolean;
  readonly attackCount: number;
  readonly benignIds: readonly string[];
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
    for (const { checkpoint, hold } of setup.models) models.push((await loadCheckpoint(checkpoint, { hold })).model);
    const attacks = selectAttacks(evaluationSuite(setup.eps, { adaptiveLambdas: setup.adaptiveLambdas, idPerLambda: setup.idPerLambda }), setup.attackIds);
    const plan = planStages(attacks, setup.curveEps, setup.curveSteps, benignSettings(setup.eps, setup.benignIds));
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
        first: start,
        attackRows: attackRowsOf(start, end, setup.attackCount),
      };
      const outputs = await runBatch(model, input, plan, setup.seed, batch, (step, finished) => {
        send({ type: 'progress', ...task, stage: step.label, units: finished ? step.units : 0 });
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
