import { setTimeout as sleep } from 'node:timers/promises';
import { greyPng } from './png.js';

export interface TrafficStats {
  requests: number;
  images: number;
  failures: number;
  flagged: number;
  lastError: string;
}

/**
 * Sends images to the service in a loop until stopped: clean ones as PNG uploads to
 * /v1/classify (one per request), adversarial ones as exact FP32 tensors to the Open
 * Inference Protocol route (a batch per request, so PNG rounding cannot blunt the attack).
 */
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

  start(kind: 'clean' | 'adversarial', images: Float32Array, everyMs: number, batch = 8): void {
    if (this.loop !== undefined) throw new Error('traffic already running');
    this.stopped = false;
    const per = this.height * this.width;
    const count = images.length / per;
    let next = 0;
    const send = kind === 'clean' ? () => this.classify(images.subarray(next * per, (next + 1) * per)) : () => this.infer(images, next, batch, count);
    this.loop = (async () => {
      while (!this.stopped) {
        await send();
        next = (next + (kind === 'clean' ? 1 : batch)) % count;
        await sleep(everyMs);
      }
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

  private async classify(pixels: Float32Array): Promise<void> {
    try {
      const response = await fetch(`${this.base}/v1/models/${this.model}/classify`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: greyPng(pixels, this.width, this.height),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { results?: { adversarial: { flagged: boolean } }[] };
      this.record(response.ok, JSON.stringify(body).slice(0, 300));
      for (const r of body.results ?? []) {
        this.stats.images++;
        if (r.adversarial.flagged) this.stats.flagged++;
      }
    } catch (err) {
      this.record(false, String(err));
    }
  }

  private async infer(images: Float32Array, first: number, batch: number, count: number): Promise<void> {
    const per = this.height * this.width;
    const n = Math.min(batch, count - first);
    try {
      const response = await fetch(`${this.base}/v2/models/${this.model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'pixels', datatype: 'FP32', shape: [n, 1, this.height, this.width], data: Array.from(images.subarray(first * per, (first + n) * per)) }],
          outputs: [{ name: 'adversarial_score' }],
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { outputs?: { data: number[] }[] };
      this.record(response.ok, JSON.stringify(body).slice(0, 300));
      if (response.ok) this.stats.images += n;
    } catch (err) {
      this.record(false, String(err));
    }
  }
}
