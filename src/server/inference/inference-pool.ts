import { Worker } from 'node:worker_threads';
import type { ExecutionProvider } from '../config.js';
import type { PixelShape } from '../image.js';
import type { BatchEngine, EngineResult } from './batch-engine.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';

export interface PoolOptions {
  readonly file: string;
  readonly providers: readonly ExecutionProvider[];
  readonly intraOpThreads: number;
  readonly workers: number;
  readonly shape: PixelShape;
  readonly log: (line: string) => void;
  /** Where a dead worker and a failed replacement are reported; `log` when omitted. */
  readonly warn?: (line: string) => void;
}

interface Job {
  readonly id: number;
  readonly resolve: (result: EngineResult) => void;
  readonly reject: (error: Error) => void;
  /** Settles (never rejects) when the job does. */
  readonly settled: Promise<unknown>;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

const WORKER_URL = new URL('./inference-worker.js', import.meta.url);
/** Waits before retrying a replacement worker that failed to start: 1 s, doubling up to 30 s. */
const RESPAWN_BASE_MS = 1000;
const RESPAWN_MAX_MS = 30_000;

/** A few worker threads, each holding one onnxruntime session of the same model. */
export class InferencePool implements BatchEngine {
  private readonly slots: Slot[] = [];
  private readonly idleListeners: (() => void)[] = [];
  private nextId = 1;
  private closing = false;
  /** Replacement workers that failed to start since the last one that did. */
  private failedRespawns = 0;
  private retry: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: PoolOptions,
    readonly provider: ExecutionProvider,
  ) {}

  static async start(options: PoolOptions): Promise<InferencePool> {
    const first = await InferencePool.spawn(options, options.providers);
    // Every worker runs the provider the first one settled on, so the pool is uniform.
    const pool = new InferencePool(options, first.provider);
    pool.adopt(first.worker);
    const rest = await Promise.allSettled(
      Array.from({ length: options.workers - 1 }, () => InferencePool.spawn(options, [first.provider])),
    );
    for (const r of rest) {
      if (r.status === 'fulfilled') pool.adopt(r.value.worker);
    }
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) {
      await pool.close();
      throw (failed as PromiseRejectedResult).reason as Error;
    }
    return pool;
  }

  private static spawn(options: PoolOptions, providers: readonly ExecutionProvider[]): Promise<{ worker: Worker; provider: ExecutionProvider }> {
    const init: WorkerInit = { file: options.file, providers, intraOpThreads: options.intraOpThreads, shape: options.shape };
    const worker = new Worker(WORKER_URL, { workerData: init });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`inference worker for ${options.file} exited with code ${code} while starting`));
      worker.once('exit', onExit);
      worker.once('error', reject);
      worker.once('message', (reply: WorkerReply) => {
        worker.off('exit', onExit);
        worker.off('error', reject);
        if (reply.type === 'ready') {
          for (const line of reply.logs) options.log(line);
          resolve({ worker, provider: reply.provider });
        } else {
          void worker.terminate();
          reject(new Error(reply.type === 'failed' ? reply.message : `unexpected reply ${reply.type} from a starting worker`));
        }
      });
    });
  }

  private adopt(worker: Worker): void {
    const slot: Slot = { worker, job: undefined };
    this.slots.push(slot);
    worker.on('message', (reply: WorkerReply) => this.settle(slot, reply));
    worker.on('error', (error) => this.fail(slot, error));
    worker.on('exit', (code) => {
      this.fail(slot, new Error(`inference worker exited with code ${code}`));
      this.slots.splice(this.slots.indexOf(slot), 1);
      if (!this.closing) this.respawn();
    });
  }

  /**
   * A crashed worker is replaced so that the pool keeps its size. A replacement that
   * fails to start (the model file gone, the GPU lost) is retried with a growing delay,
   * so a pod recovers by itself when the cause goes away.
   */
  private respawn(): void {
    this.warn(`inference worker for ${this.options.file} died; starting a replacement`);
    this.startReplacement();
  }

  private startReplacement(): void {
    InferencePool.spawn(this.options, [this.provider]).then(
      ({ worker }) => {
        if (this.closing) {
          void worker.terminate();
          return;
        }
        if (this.failedRespawns > 0) this.options.log(`replacement worker for ${this.options.file} started after ${this.failedRespawns} failed attempts`);
        this.failedRespawns = 0;
        this.adopt(worker);
        this.notifyIdle();
      },
      (error: Error) => {
        if (this.closing) return;
        this.failedRespawns++;
        const delay = Math.min(RESPAWN_MAX_MS, RESPAWN_BASE_MS * 2 ** (this.failedRespawns - 1));
        this.warn(`replacement worker for ${this.options.file} failed to start (attempt ${this.failedRespawns}, retrying in ${delay} ms): ${error.message}`);
        this.retry = setTimeout(() => {
          this.retry = undefined;
          if (!this.closing) this.startReplacement();
        }, delay);
      },
    );
  }

  private warn(line: string): void {
    (this.options.warn ?? this.options.log)(line);
  }

  private settle(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (!job || (reply.type !== 'result' && reply.type !== 'error') || reply.id !== job.id) return;
    slot.job = undefined;
    if (reply.type === 'result') {
      job.resolve({
        logits: new Float32Array(reply.logits),
        probabilities: new Float32Array(reply.probabilities),
        adversarialScore: new Float32Array(reply.adversarialScore),
        runSeconds: reply.runSeconds,
      });
    } else {
      job.reject(new Error(reply.message));
    }
    this.notifyIdle();
  }

  private fail(slot: Slot, error: Error): void {
    const job = slot.job;
    slot.job = undefined;
    job?.reject(error);
  }

  private notifyIdle(): void {
    for (const listener of this.idleListeners) listener();
  }

  get idleCount(): number {
    return this.slots.filter((s) => s.job === undefined).length;
  }

  get size(): number {
    return this.slots.length;
  }

  /** A pool with no worker left is still healthy while its first replacement starts. */
  get healthy(): boolean {
    return this.slots.length > 0 || this.failedRespawns === 0;
  }

  onIdle(listener: () => void): void {
    this.idleListeners.push(listener);
  }

  /** Runs one batch on an idle worker; the pixel buffer moves to the worker (it is unusable afterwards). */
  run(pixels: Float32Array, count: number): Promise<EngineResult> {
    const slot = this.slots.find((s) => s.job === undefined);
    if (!slot) return Promise.reject(new Error('no idle inference worker'));
    const buffer =
      pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength ? pixels.buffer : pixels.slice().buffer;
    let resolve!: (result: EngineResult) => void;
    let reject!: (error: Error) => void;
    const result = new Promise<EngineResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const id = this.nextId++;
    slot.job = { id, resolve, reject, settled: result.catch(() => undefined) };
    const request: WorkerRequest = { type: 'run', id, pixels: buffer as ArrayBuffer, count };
    slot.worker.postMessage(request, [buffer as ArrayBuffer]);
    return result;
  }

  /**
   * Waits for running batches, then ends every worker. Workers are never terminated
   * mid-run: onnxruntime-node aborts the whole process when its thread is torn down
   * inside session.run.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retry);
    await Promise.all(
      [...this.slots].map(async (slot) => {
        if (slot.job) await slot.job.settled;
        await new Promise<void>((resolve) => {
          slot.worker.once('exit', () => resolve());
          const request: WorkerRequest = { type: 'close' };
          slot.worker.postMessage(request);
        });
      }),
    );
  }
}
