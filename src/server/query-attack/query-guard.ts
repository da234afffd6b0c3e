import type { FastifyBaseLogger } from 'fastify';
import { ClientKeys, type ClientKey } from './client-key.js';
import type { QueryAttackConfig } from '../config.js';
import { Errors } from '../errors.js';
import type { EvidenceRing } from './evidence-ring.js';
import { encodeImage } from '../image.js';
import type { ServiceMetrics } from '../telemetry/metrics.js';
import type { ScoredImage, ServedModel } from '../inference/model-registry.js';
import { CrossKeyMemory, type CrossKeyVerdict } from './cross-key-memory.js';
import { Fingerprinter, type Fingerprint } from './query-fingerprint.js';
import { QueryMemory, type QueryVerdict } from './query-memory.js';

/** What the guard knows about one request. */
export interface QueryAttackState {
  readonly key: ClientKey;
  verdict?: QueryVerdict;
}

/** What a request looks like to the guard: its id, logger and state (a FastifyRequest is one). */
export interface GuardedRequest {
  readonly id: string;
  readonly log: FastifyBaseLogger;
  readonly queryAttack: QueryAttackState | null;
}

export type Decision = 'answered' | 'observe' | 'header' | 'throttle';

/** C×H×W floats in [0, 1] to interleaved 8-bit pixels, as a PNG stores them. */
function toHwc(pixels: Float32Array, model: ServedModel): Uint8Array {
  const { channels, height, width } = model.metadata.input;
  const plane = height * width;
  const out = new Uint8Array(pixels.length);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) out[i * channels + c] = Math.round(Math.min(Math.max(pixels[c * plane + i]!, 0), 1) * 255);
  }
  return out;
}

/**
 * Per-client query-attack detection: fingerprints each image a client sends, keeps the recent
 * ones per client (QueryMemory), and acts on clients whose queries keep nearly repeating
 * their own earlier ones, as `action` says. Logs and evidence name the client only by the
 * hash of its key.
 */
export class QueryGuard {
  readonly keys: ClientKeys;
  /** Undefined when detection is off. */
  readonly memory: QueryMemory | undefined;
  /** Undefined when detection or its cross-key part is off. */
  readonly crossKey: CrossKeyMemory | undefined;
  private readonly fingerprinter = new Fingerprinter();

  constructor(
    readonly config: QueryAttackConfig,
    private readonly metrics: ServiceMetrics,
    readonly evidence: EvidenceRing | undefined,
  ) {
    this.keys = new ClientKeys(config.clientKeyHeader, config.trustedProxies, config.keySalt);
    this.memory = config.action === 'off' ? undefined : new QueryMemory(config);
    this.crossKey = config.crossKey.enabled ? new CrossKeyMemory({ ...config.crossKey, windowSeconds: config.windowSeconds }) : undefined;
  }

  get action(): QueryAttackConfig['action'] {
    return this.config.action;
  }

  /** A throttled client's request refused before its body is read; otherwise nothing. */
  refuseEarly(request: GuardedRequest, model: string): void {
    const state = request.queryAttack;
    if (this.action !== 'throttle' || !state || !this.memory) return;
    const retry = this.memory.suspicion(state.key.hash);
    if (retry === 0) return;
    const nearDuplicates = this.memory.peek(state.key.hash)?.counts(Date.now() - this.config.windowSeconds * 1000).nearDuplicates ?? 0;
    this.refuse(request, model, nearDuplicates, retry);
  }

  /**
   * Fingerprints and records a request's images (C×H×W each) before they are scored. Throws
   * AWNET_QUERY_ATTACK_THROTTLED, the images unscored, when the client is suspected and the
   * action is throttle.
   */
  screen(request: GuardedRequest, model: ServedModel, pixels: readonly Float32Array[]): void {
    const state = request.queryAttack;
    if (!state || !this.memory) return;
    const prints = pixels.map((p) => this.fingerprinter.of(p));
    const verdict = this.memory.record(state.key.hash, prints);
    state.verdict = verdict;
    this.screenAcrossKeys(request, model, prints);
    if (verdict.newlySuspected) {
      request.log.warn(
        {
          event: 'query-attack-suspected',
          client: state.key.hash,
          clientKeySource: state.key.source,
          model: model.name,
          queries: verdict.queries,
          nearDuplicates: verdict.nearDuplicates,
          suspectedAfter: verdict.suspectedAfter,
          decision: this.action,
        },
        `client ${state.key.hash} suspected of a query attack: ${verdict.nearDuplicates} of its last ${verdict.queries} images nearly repeat earlier ones`,
      );
    }
    if (!verdict.suspected) return;
    if (this.action === 'throttle') {
      this.keep(request, model, pixels, undefined, 'throttle');
      this.refuse(request, model.name, verdict.nearDuplicates, verdict.retryAfterSeconds);
    }
    this.metrics.queryAttackRequests.inc({ model: model.name, action: this.action });
  }

  /** Records the images across client keys: observed only (metrics and a log line), never refused. */
  private screenAcrossKeys(request: GuardedRequest, model: ServedModel, prints: readonly Fingerprint[]): void {
    const state = request.queryAttack;
    if (!state || !this.crossKey) return;
    const verdict: CrossKeyVerdict = this.crossKey.record(state.key.hash, prints);
    for (const cluster of verdict.newlySuspected) {
      request.log.warn(
        {
          event: 'query-attack-cluster-suspected',
          cluster: cluster.id,
          clients: cluster.clients,
          clientCount: cluster.clientCount,
          images: cluster.images,
          client: state.key.hash,
          clientKeySource: state.key.source,
          model: model.name,
        },
        `${cluster.images} near-identical images from ${cluster.clientCount} client keys: suspected of a query attack spread over keys`,
      );
    }
    if (verdict.matched > 0) this.metrics.queryAttackClusterImages.inc({ model: model.name }, verdict.matched);
  }

  /** After scoring: logs and keeps evidence of flagged images and of suspected clients' queries; nothing for the rest. */
  report(request: GuardedRequest, model: ServedModel, pixels: readonly Float32Array[], scored: readonly ScoredImage[]): void {
    const suspected = request.queryAttack?.verdict?.suspected === true;
    const flagged = scored.filter((s) => s.flagged).length;
    if (!suspected && flagged === 0) return;
    const decision: Decision = suspected && this.action !== 'off' ? this.action : 'answered';
    request.log.info(
      {
        event: 'adversarial-query',
        client: request.queryAttack?.key.hash,
        model: model.name,
        scores: scored.map((s) => s.adversarialScore),
        flagged,
        suspected,
        decision,
      },
      suspected ? 'query from a client suspected of a query attack' : 'image flagged adversarial',
    );
    this.keep(request, model, pixels, scored, decision);
  }

  private refuse(request: GuardedRequest, model: string, nearDuplicates: number, retry: number): never {
    this.metrics.queryAttackRequests.inc({ model, action: 'throttle' });
    request.log.info({ event: 'adversarial-query', client: request.queryAttack?.key.hash, model, suspected: true, decision: 'throttle' }, 'query refused: client suspected of a query attack');
    throw Object.assign(new Errors.QUERY_ATTACK_THROTTLED(nearDuplicates, retry), { retryAfterSeconds: retry });
  }

  private keep(request: GuardedRequest, model: ServedModel, pixels: readonly Float32Array[], scored: readonly ScoredImage[] | undefined, decision: Decision): void {
    const ring = this.evidence;
    if (!ring) return;
    const suspected = request.queryAttack?.verdict?.suspected === true;
    const { channels, height, width } = model.metadata.input;
    pixels.forEach((image, i) => {
      const s = scored?.[i];
      if (!suspected && !s?.flagged) return;
      ring.add({
        image: () => encodeImage(toHwc(image, model), { channels, height, width }, 'png'),
        record: {
          time: new Date().toISOString(),
          requestId: request.id,
          client: request.queryAttack?.key.hash,
          model: model.name,
          modelVersion: model.version,
          image: i,
          suspected,
          decision,
          ...(s ? { label: s.label, score: s.adversarialScore, flagged: s.flagged, threshold: model.threshold, probabilities: Array.from(s.probabilities) } : {}),
        },
      });
    });
  }
}
