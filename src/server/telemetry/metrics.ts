import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { FlaggedWindow } from './flagged-window.js';

const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const SCORE_BUCKETS = Array.from({ length: 20 }, (_, i) => Number(((i + 1) * 0.05).toFixed(2)));

export interface ModelGauges {
  readonly version: string;
  readonly provider: string;
  /** The model runs on a later provider of AWNET_EXECUTION_PROVIDERS than the first. */
  readonly providerFallback: boolean;
  readonly queueCapacity: number;
  readonly queueDepth: () => number;
  readonly imagesInFlight: () => number;
  /** Read at scrape time: ready, and its engine able to run batches. */
  readonly ready: () => boolean;
  /** The score above which its images are flagged. */
  readonly threshold: number;
}

/** The score buckets: every 0.05, plus each threshold in use, so that "just under it" is a bucket boundary. */
export function scoreBuckets(thresholds: readonly number[]): number[] {
  return [...new Set([...SCORE_BUCKETS, ...thresholds.filter((t) => t > 0 && t < 1)])].sort((a, b) => a - b);
}

/** Where the query-attack gauges read their values at scrape time. */
export interface QueryAttackSources {
  readonly suspected: () => number;
  readonly tracked: () => number;
  readonly clusters: () => number;
}

/** Every metric the service exports (docs/metrics.md lists the same names). */
export class ServiceMetrics {
  readonly httpRequests: Counter<'route' | 'method' | 'status_code'>;
  readonly httpDuration: Histogram<'route' | 'method' | 'status_code'>;
  readonly httpProcessing: Histogram<'route' | 'method' | 'status_code'>;
  readonly imagesUnscreened: Counter<'model'>;
  readonly flaggedByRoute: Counter<'model' | 'route'>;
  readonly preprocessDuration: Histogram<'model'>;
  readonly queueWait: Histogram<'model'>;
  readonly inferenceDuration: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly imagesTotal: Counter<'model'>;
  readonly imagesFlagged: Counter<'model'>;
  readonly imagesClassified: Counter<'model' | 'label'>;
  readonly adversarialScore: Histogram<'model'>;
  readonly errors: Counter<'code'>;
  readonly modelInfo: Gauge<'model' | 'version' | 'execution_provider'>;
  readonly queryAttackRequests: Counter<'model' | 'action'>;
  readonly queryAttackClusterImages: Counter<'model'>;
  private queryAttacks: QueryAttackSources = { suspected: () => 0, tracked: () => 0, clusters: () => 0 };
  private readonly providerFallback: Gauge<'model'>;
  private readonly queueCapacity: Gauge<'model'>;
  private readonly flagThreshold: Gauge<'model'>;
  private evidenceDropped: () => number = () => 0;
  private readonly windows = new Map<string, FlaggedWindow>();
  private readonly depths = new Map<string, () => number>();
  private readonly inFlight = new Map<string, () => number>();
  private readonly readiness = new Map<string, () => boolean>();

  constructor(
    readonly registry: Registry,
    private readonly windowSeconds: number,
    /** The thresholds of the models to be served: boundaries of the score histogram. */
    thresholds: readonly number[] = [],
  ) {
    const registers = [registry];
    collectDefaultMetrics({ register: registry, prefix: 'awnet_' });
    const http = { labelNames: ['route', 'method', 'status_code'] as const, registers };
    const byModel = { labelNames: ['model'] as const, registers };
    this.httpRequests = new Counter({ name: 'awnet_http_requests_total', help: 'HTTP requests answered, by route template, method and status code.', ...http });
    this.httpDuration = new Histogram({ name: 'awnet_http_request_duration_seconds', help: 'Time from request received to response sent.', buckets: SECONDS_BUCKETS, ...http });
    this.httpProcessing = new Histogram({
      name: 'awnet_http_request_processing_seconds',
      help: "Time from the request's body received to the response sent: the service's own time, without the client's upload.",
      buckets: SECONDS_BUCKETS,
      ...http,
    });
    this.preprocessDuration = new Histogram({ name: 'awnet_preprocess_duration_seconds', help: 'Decoding and resizing of one image.', buckets: SECONDS_BUCKETS, ...byModel });
    this.queueWait = new Histogram({ name: 'awnet_queue_wait_duration_seconds', help: 'Time an image waited in the batch queue before its batch started.', buckets: SECONDS_BUCKETS, ...byModel });
    this.inferenceDuration = new Histogram({ name: 'awnet_inference_duration_seconds', help: 'Time the model ran for one batch.', buckets: SECONDS_BUCKETS, ...byModel });
    this.batchSize = new Histogram({ name: 'awnet_batch_size', help: 'Images per batch given to the model.', buckets: BATCH_BUCKETS, ...byModel });
    const depths = this.depths;
    new Gauge({
      name: 'awnet_queue_depth',
      help: 'Images waiting for a batch slot.',
      ...byModel,
      collect() {
        for (const [model, depth] of depths) this.set({ model }, depth());
      },
    });
    const inFlight = this.inFlight;
    new Gauge({
      name: 'awnet_images_in_flight',
      help: 'Images accepted and not yet answered (waiting plus running): the load the autoscaler follows.',
      ...byModel,
      collect() {
        for (const [model, count] of inFlight) this.set({ model }, count());
      },
    });
    this.queueCapacity = new Gauge({ name: 'awnet_queue_capacity', help: 'Images that may wait before new requests get 503 (AWNET_QUEUE_LIMIT).', ...byModel });
    this.imagesTotal = new Counter({ name: 'awnet_images_total', help: 'Images the model scored.', ...byModel });
    this.imagesFlagged = new Counter({ name: 'awnet_images_flagged_total', help: 'Images whose adversarial score is above the flagging threshold.', ...byModel });
    this.imagesClassified = new Counter({ name: 'awnet_images_classified_total', help: 'Images by predicted label.', labelNames: ['model', 'label'], registers });
    this.adversarialScore = new Histogram({ name: 'awnet_adversarial_score', help: "The router's probability that an image is adversarial.", buckets: scoreBuckets(thresholds), ...byModel });
    this.imagesUnscreened = new Counter({
      name: 'awnet_images_unscreened_total',
      help: 'Images answered by a model without a router (AWNET_SERVE_UNSCREENED): never screened, in none of the flagged counts.',
      ...byModel,
    });
    this.flaggedByRoute = new Counter({
      name: 'awnet_images_flagged_by_route_total',
      help: 'Flagged images by the route that received them (classify or infer): where the attacks come in.',
      labelNames: ['model', 'route'],
      registers,
    });
    this.flagThreshold = new Gauge({ name: 'awnet_flag_threshold', help: 'Score above which an image is flagged (0 for a model without a router).', ...byModel });
    const dropped = () => this.evidenceDropped();
    let droppedSeen = 0;
    new Counter({
      name: 'awnet_evidence_dropped_total',
      help: 'Evidence items not written: the write queue was full or an item exceeded the byte budget.',
      registers,
      collect() {
        const now = dropped();
        if (now > droppedSeen) this.inc(now - droppedSeen);
        droppedSeen = Math.max(droppedSeen, now);
      },
    });
    const windows = this.windows;
    new Gauge({
      name: 'awnet_flagged_fraction',
      help: `Fraction of images flagged adversarial over the last ${windowSeconds} s (AWNET_FLAGGED_WINDOW_SECONDS).`,
      ...byModel,
      collect() {
        for (const [model, window] of windows) this.set({ model }, window.fraction());
      },
    });
    this.errors = new Counter({ name: 'awnet_errors_total', help: 'Error responses by stable error code.', labelNames: ['code'], registers });
    this.modelInfo = new Gauge({ name: 'awnet_model_info', help: 'Served models (value 1), with version and the execution provider running them.', labelNames: ['model', 'version', 'execution_provider'], registers });
    const readiness = this.readiness;
    new Gauge({
      name: 'awnet_model_ready',
      help: '1 while the model takes requests, 0 otherwise (starting, draining, or no inference worker).',
      ...byModel,
      collect() {
        for (const [model, ready] of readiness) this.set({ model }, ready() ? 1 : 0);
      },
    });
    this.queryAttackRequests = new Counter({
      name: 'awnet_query_attack_requests_total',
      help: 'Requests from clients suspected of a query attack, by model and the action taken (AWNET_QUERY_ATTACK_ACTION).',
      labelNames: ['model', 'action'],
      registers,
    });
    // No client label: clients are unbounded and a label per client would be a memory leak in Prometheus.
    const attacks = () => this.queryAttacks;
    new Gauge({
      name: 'awnet_query_attack_suspected_clients',
      help: 'Clients this pod currently suspects of a query attack.',
      registers,
      collect() {
        this.set(attacks().suspected());
      },
    });
    new Gauge({
      name: 'awnet_query_attack_tracked_clients',
      help: 'Clients whose recent queries this pod remembers (at most AWNET_QUERY_ATTACK_MAX_CLIENTS).',
      registers,
      collect() {
        this.set(attacks().tracked());
      },
    });
    new Gauge({
      name: 'awnet_query_attack_suspected_clusters',
      help: 'Groups of near-identical images, sent under many client keys, that this pod currently suspects of being a query attack spread over keys.',
      registers,
      collect() {
        this.set(attacks().clusters());
      },
    });
    this.queryAttackClusterImages = new Counter({
      name: 'awnet_query_attack_cluster_images_total',
      help: 'Images that joined a group of near-identical images suspected of being a query attack spread over client keys.',
      ...byModel,
    });
    this.providerFallback = new Gauge({
      name: 'awnet_execution_provider_fallback',
      help: '1 when the model runs on a later execution provider of AWNET_EXECUTION_PROVIDERS than the first (a GPU pod on the CPU).',
      ...byModel,
    });
  }

  addModel(model: string, gauges: ModelGauges): void {
    this.windows.set(model, new FlaggedWindow(this.windowSeconds));
    this.depths.set(model, gauges.queueDepth);
    this.inFlight.set(model, gauges.imagesInFlight);
    this.readiness.set(model, gauges.ready);
    this.queueCapacity.set({ model }, gauges.queueCapacity);
    this.modelInfo.set({ model, version: gauges.version, execution_provider: gauges.provider }, 1);
    this.providerFallback.set({ model }, gauges.providerFallback ? 1 : 0);
    this.flagThreshold.set({ model }, gauges.threshold);
    // Zero series exist from the start so rate() and ratios work before the first image.
    this.imagesTotal.inc({ model }, 0);
    this.imagesFlagged.inc({ model }, 0);
    this.imagesUnscreened.inc({ model }, 0);
  }

  /** Where the query-attack gauges read their values at scrape time. */
  watchQueryAttacks(sources: QueryAttackSources): void {
    this.queryAttacks = sources;
  }

  /** Where awnet_evidence_dropped_total reads its count at scrape time. */
  watchEvidence(dropped: () => number): void {
    this.evidenceDropped = dropped;
  }

  /** An image answered by a model that cannot screen it: counted apart, so no dashboard reads its 0 as clean. */
  recordUnscreened(model: string, label: string): void {
    this.imagesUnscreened.inc({ model });
    this.imagesClassified.inc({ model, label });
  }

  /** One scored image, from any route. */
  recordImage(model: string, label: string, score: number, flagged: boolean): void {
    this.imagesTotal.inc({ model });
    if (flagged) this.imagesFlagged.inc({ model });
    this.imagesClassified.inc({ model, label });
    this.adversarialScore.observe({ model }, score);
    this.windows.get(model)?.record(flagged);
  }
}
