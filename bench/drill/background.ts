import type { TestImages } from './adversary.js';
import { Traffic, type Answer } from './traffic.js';

/**
 * The clean traffic every scenario runs on: distinct test images as PNG uploads from many
 * clients (one API key each, in turn), at a fixed rate. The images can be swapped (benign
 * drift) and the answers routed to whoever listens.
 */
export class Background {
  private readonly traffic: Traffic;
  private listener: ((a: Answer) => void) | undefined;
  readonly clients: readonly string[];

  constructor(
    base: string,
    model: string,
    private readonly images: TestImages,
    private readonly perSecond: number,
    clients: number,
  ) {
    this.traffic = new Traffic(base, model, images.height, images.width);
    this.clients = Array.from({ length: clients }, (_, i) => `customer-${String(i).padStart(3, '0')}`);
  }

  get cleanImages(): Float32Array {
    return this.images.clean;
  }

  get stats(): Traffic['stats'] {
    return this.traffic.stats;
  }

  /** Starts sending `pixels` (default the clean images; same count and labels). */
  start(pixels: Float32Array = this.images.clean): void {
    this.traffic.start({
      images: pixels,
      labels: this.images.labels,
      perSecond: this.perSecond,
      route: 'classify',
      clients: this.clients,
      onAnswer: (a) => this.listener?.(a),
    });
  }

  stop(): Promise<void> {
    return this.traffic.stop();
  }

  /** Sends `pixels` instead, from now on. */
  async swap(pixels: Float32Array): Promise<void> {
    await this.stop();
    this.start(pixels);
  }

  listen(listener: ((a: Answer) => void) | undefined): void {
    this.listener = listener;
  }
}
