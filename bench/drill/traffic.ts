import { setTimeout as sleep } from 'node:timers/promises';
import { greyPng } from './png.js';

export interface TrafficStats {
  requests: number;
  images: number;
  failures: number;
  flagged: number;
  lastError: string;
}

/** One image's answer as a client saw it. */
export interface Answer {
  /** Wall-clock milliseconds (Date.now()) when the answer arrived. */
  readonly at: number;
  /** HTTP status of its request. */
  readonly status: number;
  readonly flagged: boolean;
  /** The router's adversarial score; NaN where the answer has none. */
  readonly score: number;
  /** The top class differs from the image's label (false when no label or no answer). */
  readonly wrong: boolean;
}

/**
 * What to send: grey images (n × height × width values in [0, 1]) cycled in order,
 * `perSecond` requests a second whatever the answers' latency (a request is not held
 * back by the one before it, as many independent clients would not be).
 */
export interface Stream {
  readonly images: Float32Array;
  /** The images' true classes: answers then say whether the prediction was wrong. */
  readonly labels?: Int32Array;
  readonly perSecond: number;
  /**
   * classify: one PNG upload per request to /v1/models/{model}/classify, as a client
   * holding a photo sends it. infer: `batch` images as an FP32 tensor to the Open
   * Inference Protocol route, exact (PNG rounding cannot blunt an attack).
   */
  readonly route: 'classify' | 'infer';
  readonly batch?: number;
  /** Multiplies every pixel of an infer tensor: 255 is a client that sends 0–255 values. */
  readonly scale?: number;
  /** API keys (the x-api-key header) used in turn, one per request; none: no header. */
  readonly clients?: readonly string[];
  /** Called with every image's answer. */
  readonly onAnswer?: (answer: Answer) => void;
}

export const CLIENT_KEY_HEADER = 'x-api-key';

/** Sends a stream of images to the service until stopped. */
export class Traffic {
  private stopped = false;
  private loop: Promise<void> | undefined;
  readonly stats: TrafficStats = { requests: 0, images: 0, failures: 0, flagged: 0, lastError: '' };

  constructor(
    private readonly base: string,
    private readonly model: string,
    private readonly height: number,
    private readonly width: number,
  ) {}

  get running(): boolean {
    return this.loop !== undefined;
  }

  start(stream: Stream): void {
    if (this.loop !== undefined) throw new Error('traffic already running');
    this.stopped = false;
    const per = this.height * this.width;
    const count = stream.images.length / per;
    const step = stream.route === 'classify' ? 1 : Math.min(stream.batch ?? 8, count);
    const everyMs = 1000 / stream.perSecond;
    this.loop = (async () => {
      const inFlight = new Set<Promise<void>>();
      let next = 0;
      let sent = 0;
      const started = Date.now();
      while (!this.stopped) {
        const first = next;
        const client = stream.clients?.[sent % stream.clients.length];
        const request = stream.route === 'classify' ? this.classify(stream, first, client) : this.infer(stream, first, step, count, client);
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request));
        next = (next + step) % count;
        sent++;
        // Paced from the start, so that slow answers do not lower the rate.
        await sleep(Math.max(0, started + sent * everyMs - Date.now()));
      }
      await Promise.all(inFlight);
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.loop = undefined;
  }

  private record(ok: boolean, detail: string): void {
    this.stats.requests++;
    if (!ok) {
      this.stats.failures++;
      this.stats.lastError = detail;
    }
  }

  private headers(contentType: string, client: string | undefined): Record<string, string> {
    return client === undefined ? { 'content-type': contentType } : { 'content-type': contentType, [CLIENT_KEY_HEADER]: client };
  }

  private async classify(stream: Stream, index: number, client: string | undefined): Promise<void> {
    const per = this.height * this.width;
    try {
      const response = await fetch(`${this.base}/v1/models/${this.model}/classify`, {
        method: 'POST',
        headers: this.headers('image/png', client),
        body: greyPng(stream.images.subarray(index * per, (index + 1) * per), this.width, this.height),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { results?: { probabilities: number[]; adversarial: { flagged: boolean; score: number } }[] };
      this.record(response.ok, JSON.stringify(body).slice(0, 300));
      const label = stream.labels?.[index];
      for (const r of body.results ?? []) {
        this.stats.images++;
        if (r.adversarial.flagged) this.stats.flagged++;
        const top = r.probabilities.indexOf(Math.max(...r.probabilities));
        stream.onAnswer?.({ at: Date.now(), status: response.status, flagged: r.adversarial.flagged, score: r.adversarial.score, wrong: label !== undefined && top !== label });
      }
      if (!response.ok) stream.onAnswer?.({ at: Date.now(), status: response.status, flagged: false, score: NaN, wrong: false });
    } catch (err) {
      this.record(false, String(err));
    }
  }

  private async infer(stream: Stream, first: number, batch: number, count: number, client: string | undefined): Promise<void> {
    const per = this.height * this.width;
    const n = Math.min(batch, count - first);
    const scale = stream.scale ?? 1;
    try {
      const response = await fetch(`${this.base}/v2/models/${this.model}/infer`, {
        method: 'POST',
        headers: this.headers('application/json', client),
        body: JSON.stringify({
          inputs: [{ name: 'pixels', datatype: 'FP32', shape: [n, 1, this.height, this.width], data: Array.from(stream.images.subarray(first * per, (first + n) * per), (v) => v * scale) }],
          outputs: [{ name: 'adversarial_score' }],
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { outputs?: { data: number[] }[] };
      this.record(response.ok, JSON.stringify(body).slice(0, 300));
      if (response.ok) this.stats.images += n;
      stream.onAnswer?.({ at: Date.now(), status: response.status, flagged: false, score: NaN, wrong: false });
    } catch (err) {
      this.record(false, String(err));
    }
  }
}
