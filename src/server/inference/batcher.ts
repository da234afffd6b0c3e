import { performance } from 'node:perf_hooks';
import type { BatchEngine } from './batch-engine.js';
import { Errors } from '../errors.js';

export interface BatcherOptions {
  readonly model: string;
  readonly maxBatchSize: number;
  readonly maxBatchDelayMs: number;
  readonly queueLimit: number;
  readonly requestTimeoutMs: number;
  /** Numbers per image (C × H × W). */
  readonly imageSize: number;
  /** Classes per image (K). */
  readonly classes: number;
}

export interface BatcherObserver {
  onQueueWait(seconds: number): void;
  onBatch(size: number, runSeconds: number): void;
}

/** The model's answer for one image. */
export interface ImageOutput {
  readonly logits: Float32Array;
  readonly probabilities: Float32Array;
  readonly adversarialScore: number;
}

interface Request {
  readonly outputs: ImageOutput[];
  remaining: number;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
  readonly resolve: (outputs: ImageOutput[]) => void;
  readonly reject: (error: Error) => void;
}

interface Item {
  readonly request: Request;
  readonly index: number;
  readonly pixels: Float32Array;
  readonly enqueuedAt: number;
}

/**
 * Micro-batching across clients for one model: images wait in a bounded FIFO until
 * a worker is idle and either a full batch is waiting, or the oldest image has waited
 * `maxBatchDelayMs`, or no other request is on its way (see `announce`): a lone
 * request leaves at once. While workers are busy, images pile up and leave together.
 * A request is all its images; it gets 504 past its timeout.
 */
export class Batcher {
  private queue: Item[] = [];
  private head = 0;
  private waiting = 0;
  private inFlight = 0;
  /** Images in the batches now running. */
  private running = 0;
  /** Requests announced but not yet submitted. */
  private incoming = 0;
  private timer: NodeJS.Timeout | undefined;
  private batchSecondsAverage = 0;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(
    private readonly engine: BatchEngine,
    private readonly options: BatcherOptions,
    private readonly observer: BatcherObserver,
  ) {
    engine.onIdle(() => this.pump());
  }

  /** Images waiting for a worker (in-flight batches not counted). */
  get depth(): number {
    return this.waiting;
  }

  /** Images accepted and not yet answered: waiting plus running. What a pod's load is. */
  get imagesInFlight(): number {
    return this.waiting + this.running;
  }

  get busy(): boolean {
    return this.waiting > 0 || this.inFlight > 0;
  }

  /** Seconds a client should wait before retrying: the time to work off the queue, at least 1. */
  retryAfterSeconds(): number {
    const batches = Math.ceil(this.waiting / this.options.maxBatchSize) / Math.max(1, this.engine.idleCount + this.inFlight);
    return Math.min(60, Math.max(1, Math.ceil(batches * this.batchSecondsAverage)));
  }

  /**
   * Declares a request on its way to `submit` (its upload being read or decoded): queued
   * images wait for it, up to the batch delay, instead of leaving in a smaller batch.
   * Call the returned function once it is submitted or given up (calling twice is harmless).
   */
  announce(): () => void {
    this.incoming++;
    let pending = true;
    return () => {
      if (!pending) return;
      pending = false;
      if (--this.incoming === 0) this.pump();
    };
  }

  /** Queues every image of one request (all or none); resolves with their outputs in order. */
  submit(images: readonly Float32Array[]): Promise<ImageOutput[]> {
    if (images.length === 0) return Promise.resolve([]);
    // Refused outright, not with 503: retrying could never help.
    if (images.length > this.options.queueLimit) return Promise.reject(new Errors.BATCH_TOO_LARGE(images.length, this.options.queueLimit));
    if (this.waiting + images.length > this.options.queueLimit) {
      const error = Object.assign(new Errors.QUEUE_FULL(this.options.model, this.waiting), {
        retryAfterSeconds: this.retryAfterSeconds(),
      });
      return Promise.reject(error);
    }
    for (const image of images) {
      if (image.length !== this.options.imageSize) {
        return Promise.reject(new Error(`image holds ${image.length} values, the model takes ${this.options.imageSize}`));
      }
    }
    return new Promise((resolve, reject) => {
      const request: Request = { outputs: [], remaining: images.length, done: false, timer: undefined, resolve, reject };
      request.timer = setTimeout(() => this.finish(request, new Errors.TIMEOUT(this.options.requestTimeoutMs)), this.options.requestTimeoutMs);
      const now = performance.now();
      images.forEach((pixels, index) => this.queue.push({ request, index, pixels, enqueuedAt: now }));
      this.waiting += images.length;
      this.pump();
    });
  }

  /** Settles a request once; its images still queued stop counting as waiting. */
  private finish(request: Request, error?: Error): void {
    if (request.done) return;
    request.done = true;
    clearTimeout(request.timer);
    if (error) {
      for (let i = this.head; i < this.queue.length; i++) {
        if (this.queue[i]!.request === request) this.waiting--;
      }
      request.reject(error);
      this.checkDrained();
    } else {
      request.resolve(request.outputs);
    }
  }

  private dropSettledHead(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.request.done) this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.engine.idleCount > 0) {
      this.dropSettledHead();
      if (this.waiting === 0) return;
      const oldest = this.queue[this.head]!;
      const waited = performance.now() - oldest.enqueuedAt;
      // Waiting only pays off when more images are on their way.
      if (this.incoming > 0 && this.waiting < this.options.maxBatchSize && waited < this.options.maxBatchDelayMs) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(this.options.maxBatchDelayMs - waited));
        return;
      }
      this.dispatch(this.take());
    }
  }

  private take(): Item[] {
    const batch: Item[] = [];
    while (batch.length < this.options.maxBatchSize && this.head < this.queue.length) {
      const item = this.queue[this.head++]!;
      if (!item.request.done) batch.push(item);
    }
    this.waiting -= batch.length;
    return batch;
  }

  private dispatch(batch: Item[]): void {
    const size = this.options.imageSize;
    const pixels = new Float32Array(batch.length * size);
    const now = performance.now();
    batch.forEach((item, i) => {
      pixels.set(item.pixels, i * size);
      this.observer.onQueueWait((now - item.enqueuedAt) / 1000);
    });
    this.inFlight++;
    this.running += batch.length;
    const started = performance.now();
    this.engine.run(pixels, batch.length).then(
      (result) => {
        const k = this.options.classes;
        const seconds = (performance.now() - started) / 1000;
        this.batchSecondsAverage = this.batchSecondsAverage === 0 ? seconds : 0.8 * this.batchSecondsAverage + 0.2 * seconds;
        this.observer.onBatch(batch.length, result.runSeconds);
        batch.forEach((item, i) => {
          const request = item.request;
          if (request.done) return;
          request.outputs[item.index] = {
            logits: result.logits.subarray(i * k, (i + 1) * k),
            probabilities: result.probabilities.subarray(i * k, (i + 1) * k),
            adversarialScore: result.adversarialScore[i] as number,
          };
          if (--request.remaining === 0) this.finish(request);
        });
        this.settled(batch.length);
      },
      (error: Error) => {
        for (const item of batch) this.finish(item.request, new Errors.INFERENCE_FAILED(this.options.model, error.message));
        this.settled(batch.length);
      },
    );
  }

  private settled(images: number): void {
    this.inFlight--;
    this.running -= images;
    this.checkDrained();
    this.pump();
  }

  private checkDrained(): void {
    if (this.busy) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /**
   * Refuses every queued image with `error` and resolves once the running batches end.
   * (A worker thread cannot be stopped in the middle of session.run without aborting
   * the process, so a forced shutdown waits for the batches already running.)
   */
  abort(error: () => Error): Promise<void> {
    for (let i = this.head; i < this.queue.length; i++) this.finish(this.queue[i]!.request, error());
    return this.drained();
  }

  /** Resolves once nothing waits and nothing runs. */
  drained(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
