import type { ExecutionProvider } from '../config.js';
import type { PixelShape } from '../image.js';

/** workerData of an inference worker. */
export interface WorkerInit {
  readonly file: string;
  readonly providers: readonly ExecutionProvider[];
  readonly intraOpThreads: number;
  readonly shape: PixelShape;
}

/** Main thread → worker. `pixels` is transferred, not copied. */
export type WorkerRequest =
  | { readonly type: 'run'; readonly id: number; readonly pixels: ArrayBuffer; readonly count: number }
  | { readonly type: 'close' };

/** Worker → main thread. Output buffers are transferred, not copied. */
export type WorkerReply =
  | { readonly type: 'ready'; readonly provider: ExecutionProvider; readonly logs: readonly string[] }
  | { readonly type: 'failed'; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly logits: ArrayBuffer;
      readonly probabilities: ArrayBuffer;
      readonly adversarialScore: ArrayBuffer;
      /** Time inside session.run, seconds. */
      readonly runSeconds: number;
    }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
