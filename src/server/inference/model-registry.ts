import type { Config } from '../config.js';
import type { BatchEngine } from './batch-engine.js';
import { Batcher, type ImageOutput } from './batcher.js';
import { Errors } from '../errors.js';
import { InferencePool } from './inference-pool.js';
import type { ServiceMetrics } from '../telemetry/metrics.js';
import { readModelMetadata, type ModelMetadata } from './model-metadata.js';
import { runnableProviders } from './cuda-probe.js';

export type ModelSettings = Pick<
  Config,
  | 'executionProviders'
  | 'executionProvidersSet'
  | 'intraOpThreads'
  | 'workers'
  | 'maxBatchSize'
  | 'maxBatchDelayMs'
  | 'queueLimit'
  | 'requestTimeoutMs'
  | 'flagThreshold'
  | 'serveUnscreened'
>;

/** A model the settings do not allow: one without a router while AWNET_SERVE_UNSCREENED is false. */
export class UnscreenedModelError extends Error {
  constructor(file: string, name: string) {
    super(
      `AWNET_MODELS: ${file}: model ${name} has no router, so the images sent to it are never screened for attacks (a client could send its attack there); valid: routed models only, or AWNET_SERVE_UNSCREENED=true to serve it knowingly (its images are counted in awnet_images_unscreened_total)`,
    );
    this.name = 'UnscreenedModelError';
  }
}

/** Where loading and serving models report: routine lines, and the ones an operator must see. */
export interface ModelLog {
  info(line: string): void;
  warn(line: string): void;
}

/** Builds the engine that runs a model's batches; the default is a pool of onnxruntime workers. */
export type EngineFactory = (file: string, metadata: ModelMetadata, settings: ModelSettings, log: ModelLog) => Promise<BatchEngine>;

/** Providers whose libraries are missing are left out (cuda-probe.ts); the fallback is still judged against the configured list. */
export const workerPoolEngine: EngineFactory = (file, metadata, settings, log) =>
  InferencePool.start({
    file,
    providers: runnableProviders(settings.executionProviders, settings.executionProvidersSet, log),
    intraOpThreads: settings.intraOpThreads,
    workers: settings.workers,
    shape: metadata.input,
    log: (line) => log.info(line),
    warn: (line) => log.warn(line),
  });

/**
 * True when the engine runs on a later provider of a configured list than the first (a GPU
 * pod on the CPU). The default list (`set` false) asks for CUDA only in passing, so running
 * on the CPU is no fallback; an engine of its own kind (not a configured provider) never is.
 */
export function fellBack(provider: string, configured: readonly string[], set: boolean): boolean {
  return set && configured.includes(provider) && provider !== configured[0];
}

export interface ScoredImage extends ImageOutput {
  readonly labelIndex: number;
  readonly label: string;
  readonly flagged: boolean;
}

/** One model being served: its metadata, its batch queue and its engine. */
export class ServedModel {
  private open = true;
  private deadSince: number | undefined;
  ready = false;

  constructor(
    readonly file: string,
    readonly metadata: ModelMetadata,
    /** The calibrated threshold, or AWNET_FLAG_THRESHOLD when set. */
    readonly threshold: number,
    readonly engine: BatchEngine,
    readonly batcher: Batcher,
    private readonly metrics: ServiceMetrics,
  ) {}

  get name(): string {
    return this.metadata.name;
  }

  get version(): string {
    return this.metadata.version;
  }

  /** Its adversarial score comes from a router; without one the score is always 0 and says nothing. */
  get screened(): boolean {
    return this.metadata.raw.router;
  }

  /** Ready and able to run batches: what readiness and awnet_model_ready report. */
  get serving(): boolean {
    return this.ready && this.engine.healthy;
  }

  /** How long its engine has been unable to run batches, as of `now` (0 while healthy); read by liveness. */
  deadForMs(now: number): number {
    if (this.engine.healthy) {
      this.deadSince = undefined;
      return 0;
    }
    this.deadSince ??= now;
    return now - this.deadSince;
  }

  /** Declares a request that will call `infer` soon (see Batcher.announce). */
  announce(): () => void {
    return this.batcher.announce();
  }

  /**
   * Scores images (C×H×W floats each) through the batch queue and records them in the
   * metrics. `announced` is the release function of this request's `announce`, if any.
   */
  async infer(images: readonly Float32Array[], announced?: () => void): Promise<ScoredImage[]> {
    // A dead engine would let every request wait for its timeout: refuse at once instead.
    if (!this.open || !this.engine.healthy) {
      announced?.();
      throw new Errors.NOT_READY(`Model '${this.name}'`);
    }
    const submitted = this.batcher.submit(images);
    // Released only now, so the batcher never sees this request as neither coming nor queued.
    announced?.();
    const outputs = await submitted;
    return outputs.map((out) => {
      let best = 0;
      for (let k = 1; k < out.probabilities.length; k++) if (out.probabilities[k]! > out.probabilities[best]!) best = k;
      const label = this.metadata.labels[best] ?? String(best);
      // Strictly above, as the exporter calibrates it (a score equal to the threshold is not flagged).
      const flagged = this.screened && out.adversarialScore > this.threshold;
      if (this.screened) this.metrics.recordImage(this.name, label, out.adversarialScore, flagged);
      else this.metrics.recordUnscreened(this.name, label);
      return { ...out, labelIndex: best, label, flagged };
    });
  }

  setReady(ready: boolean): void {
    this.ready = ready;
  }

  /** Refuses queued images (AWNET_NOT_READY) and waits only for the batches already running. */
  async abort(): Promise<void> {
    this.setReady(false);
    this.open = false;
    await this.batcher.abort(() => new Errors.NOT_READY(`Model '${this.name}'`));
  }

  /** Lets queued and running batches finish, then stops the engine. */
  async close(): Promise<void> {
    this.setReady(false);
    await this.batcher.drained();
    this.open = false;
    await this.engine.close();
  }
}

export class ModelRegistry {
  private constructor(private readonly models: readonly ServedModel[]) {}

  static async load(
    files: readonly string[],
    settings: ModelSettings,
    metrics: ServiceMetrics,
    log: ModelLog,
    engineFactory: EngineFactory = workerPoolEngine,
  ): Promise<ModelRegistry> {
    const loaded: ServedModel[] = [];
    try {
      for (const file of files) {
        const metadata = await readModelMetadata(file);
        if (!metadata.raw.router && !settings.serveUnscreened) throw new UnscreenedModelError(file, metadata.name);
        const engine = await engineFactory(file, metadata, settings, log);
        const { channels, height, width } = metadata.input;
        const batcher = new Batcher(
          engine,
          {
            model: metadata.name,
            maxBatchSize: settings.maxBatchSize,
            maxBatchDelayMs: settings.maxBatchDelayMs,
            queueLimit: settings.queueLimit,
            requestTimeoutMs: settings.requestTimeoutMs,
            imageSize: channels * height * width,
            classes: metadata.labels.length,
          },
          {
            onQueueWait: (s) => metrics.queueWait.observe({ model: metadata.name }, s),
            onBatch: (size, s) => {
              metrics.batchSize.observe({ model: metadata.name }, size);
              metrics.inferenceDuration.observe({ model: metadata.name }, s);
            },
          },
        );
        const threshold = settings.flagThreshold ?? metadata.threshold;
        const model = new ServedModel(file, metadata, threshold, engine, batcher, metrics);
        loaded.push(model);
        const fallback = fellBack(engine.provider, settings.executionProviders, settings.executionProvidersSet);
        metrics.addModel(metadata.name, {
          version: metadata.version,
          provider: engine.provider,
          providerFallback: fallback,
          queueCapacity: settings.queueLimit,
          queueDepth: () => batcher.depth,
          imagesInFlight: () => batcher.imagesInFlight,
          ready: () => model.serving,
          threshold: model.screened ? threshold : 0,
        });
        log.info(`model ${metadata.name} v${metadata.version} loaded from ${file} on ${engine.provider} (threshold ${threshold})`);
        if (!model.screened) log.warn(`model ${metadata.name} has no router: its images are not screened for attacks (AWNET_SERVE_UNSCREENED=true)`);
        if (fallback) {
          log.warn(
            `model ${metadata.name} runs on the ${engine.provider} execution provider, not on ${settings.executionProviders[0]}, the first of AWNET_EXECUTION_PROVIDERS (${settings.executionProviders.join(',')}): it is slower than this pod was sized for`,
          );
        }
      }
    } catch (error) {
      await Promise.all(loaded.map((m) => m.engine.close()));
      throw error;
    }
    return new ModelRegistry(loaded);
  }

  get default(): ServedModel {
    return this.models[0]!;
  }

  get all(): readonly ServedModel[] {
    return this.models;
  }

  get names(): string[] {
    return this.models.map((m) => m.name);
  }

  /** The model of that name; AWNET_UNKNOWN_MODEL otherwise. */
  get(name: string): ServedModel {
    const model = this.models.find((m) => m.name === name);
    if (!model) throw new Errors.UNKNOWN_MODEL(name, this.names.join(', '));
    return model;
  }

  setReady(ready: boolean): void {
    for (const model of this.models) model.setReady(ready);
  }

  get ready(): boolean {
    return this.models.every((m) => m.serving);
  }

  async close(): Promise<void> {
    await Promise.all(this.models.map((m) => m.close()));
  }

  async abort(): Promise<void> {
    await Promise.all(this.models.map((m) => m.abort()));
  }
}
