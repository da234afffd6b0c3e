import { Worker } from 'node:worker_threads';
import type { RouterHold } from '../model/types.js';
import type { BackendName } from '../tf/backend.js';
import { batchRange, planStages, planUnits } from './batch-runner.js';
import { attackCountOf, type EvalDataset, type EvaluateOptions } from './evaluate.js';
import type { FromWorker, ToWorker, WorkerSetup } from './eval-worker.js';
import type { EvaluationReport, ModelReport, ThresholdReport } from './report.js';
import { assembleReport, ModelOutputs } from './summarise.js';

export interface WorkerModel {
  readonly name: string;
  readonly checkpoint: string;
  readonly preset: string;
  readonly variant: string;
  readonly hold: RouterHold;
  readonly threshold: ThresholdReport;
}

/** A failure inside a worker, keeping the worker's stable error code. */
class WorkerFailure extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

function shared<T extends Float32Array | Int32Array>(source: T, make: (buffer: SharedArrayBuffer) => T): T {
  const copy = make(new SharedArrayBuffer(source.byteLength));
  copy.set(source);
  return copy;
}

/**
 * The same evaluation as `evaluateModels`, spread over worker threads, each with its own
 * tfjs backend and copy of the models (the wasm backend computes on one thread, so N
 * workers use N cores). Batches are handed out as workers free up; since each batch's
 * random starts depend only on its index, the figures equal those of a single thread.
 */
export async function evaluateInWorkers(
  models: readonly WorkerModel[],
  data: EvalDataset,
  options: EvaluateOptions & { readonly workers: number; readonly backendName: BackendName },
): Promise<EvaluationReport> {
  const started = performance.now();
  const batches = Math.ceil(data.count / options.batchSize);
  const attackCount = attackCountOf(options, data);
  const plan = planStages(options.attacks, options.curveEps, options.curveSteps, options.benign);
  const total = models.length * planUnits(plan, data.count, attackCount, options.batchSize);
  const lambdas = options.attacks.flatMap((a) => (a.params.kind === 'adaptive' && a.params.lambda !== undefined ? [a.params.lambda] : []));
  const setup: WorkerSetup = {
    backend: options.backendName,
    models: models.map((m) => ({ checkpoint: m.checkpoint, hold: m.hold })),
    images: shared(data.images, (b) => new Float32Array(b)),
    labels: shared(data.labels, (b) => new Int32Array(b)),
    shape: data.shape,
    eps: options.eps,
    attackIds: options.attacks.map((a) => a.id),
    adaptiveLambdas: lambdas.length > 0 ? lambdas : [1],
    // A subset of several λ keeps its `adaptive-l<λ>` ids.
    idPerLambda: options.attacks.some((a) => a.params.kind === 'adaptive' && a.id !== 'adaptive'),
    attackCount,
    benignIds: plan.benign.map((s) => s.id),
    curveEps: options.curveEps,
    curveSteps: options.curveSteps,
    batchSize: options.batchSize,
    seed: options.seed,
  };
  const outputs = models.map(() => new ModelOutputs(data.count, attackCount, plan));
  const modelSeconds = models.map(() => 0);
  const queue: { model: number; batch: number }[] = [];
  for (let m = 0; m < models.length; m++) for (let b = 0; b < batches; b++) queue.push({ model: m, batch: b });
  const workerCount = Math.max(1, Math.min(options.workers, queue.length));
  const workers: Worker[] = [];
  let done = 0;
  let remaining = queue.length;

  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      const dispatch = (worker: Worker): void => {
        const task = queue.shift();
        if (task !== undefined) worker.postMessage({ type: 'task', ...task } satisfies ToWorker);
      };
      for (let w = 0; w < workerCount; w++) {
        const worker = new Worker(new URL('./eval-worker.js', import.meta.url), { workerData: setup });
        workers.push(worker);
        worker.on('error', fail);
        worker.on('exit', (code) => {
          if (remaining > 0) fail(new WorkerFailure(`evaluation worker ${w} stopped (exit code ${code}) before the work was done`));
        });
        worker.on('message', (message: FromWorker) => {
          switch (message.type) {
            case 'ready':
              dispatch(worker);
              break;
            case 'progress': {
              done += message.units;
              const model = models[message.model]?.name ?? '';
              options.onProgress?.({ done, total, model, stage: `${message.stage}, batch ${message.batch + 1}/${batches}` });
              break;
            }
            case 'result': {
              const { start } = batchRange(data.count, options.batchSize, message.batch);
              outputs[message.model]?.add(start, message.outputs);
              modelSeconds[message.model] = (modelSeconds[message.model] ?? 0) + message.outputs.seconds.reduce((a, s) => a + s, 0);
              remaining--;
              if (remaining === 0) resolve();
              else dispatch(worker);
              break;
            }
            case 'failed':
              fail(new WorkerFailure(message.message, message.code));
              break;
          }
        });
      }
    });
  } finally {
    for (const worker of workers) {
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
      await worker.terminate();
    }
  }

  const reports: ModelReport[] = models.map(({ threshold, ...m }, i) =>
    (outputs[i] as ModelOutputs).summarise(data.labels, m, {
      curveEps: options.curveEps,
      threshold,
      worstCase: options.worstCase,
      seconds: modelSeconds[i] ?? 0,
    }),
  );
  const ctx = { ...options, dataset: data.name, split: data.split, count: data.count, attackCount, plan };
  return assembleReport(ctx, reports, (performance.now() - started) / 1000);
}
