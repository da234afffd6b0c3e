import type { BatchOutputs } from './onnx-session.js';

export interface EngineResult extends BatchOutputs {
  /** Seconds the model itself ran for this batch. */
  readonly runSeconds: number;
}

/** What the batcher hands batches to: a pool of inference workers (or, to measure the rest, a stand-in). */
export interface BatchEngine {
  readonly provider: string;
  /** Batches that could start right now. */
  readonly idleCount: number;
  /**
   * False while the engine cannot run batches and is not about to (every worker dead and
   * replacing them failed): the pod reports not ready instead of letting requests time out.
   */
  readonly healthy: boolean;
  onIdle(listener: () => void): void;
  /** Pixels of `count` images, NCHW; the buffer may be moved to another thread. */
  run(pixels: Float32Array, count: number): Promise<EngineResult>;
  close(): Promise<void>;
}
