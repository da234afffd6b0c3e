import ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../config.js';
import type { PixelShape } from '../image.js';
import { INPUT_NAME, OUTPUT } from '../../contract/model-contract.js';

export interface SessionOptions {
  /** Tried in order; the first one that creates a session runs the model. */
  readonly providers: readonly ExecutionProvider[];
  readonly intraOpThreads: number;
  readonly log?: (line: string) => void;
}

export interface BatchOutputs {
  /** [N, K] row-major. */
  readonly logits: Float32Array;
  /** [N, K] row-major. */
  readonly probabilities: Float32Array;
  /** [N]. */
  readonly adversarialScore: Float32Array;
}

/** One onnxruntime session. Its `run` blocks the calling thread: use it in a worker thread. */
export interface ModelSession {
  readonly provider: ExecutionProvider;
  run(pixels: Float32Array, count: number, shape: PixelShape): Promise<BatchOutputs>;
  close(): Promise<void>;
}

function floats(value: ort.OnnxValue | undefined, name: string): Float32Array {
  if (!(value instanceof ort.Tensor) || !(value.data instanceof Float32Array)) {
    throw new Error(`model output '${name}' is missing or not float32`);
  }
  return value.data;
}

/** Opens the model with the first execution provider that works, logging each one that does not. */
export async function openSession(file: string, options: SessionOptions): Promise<ModelSession> {
  const failures: string[] = [];
  for (const provider of options.providers) {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: options.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        logSeverityLevel: 3,
      });
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
      failures.push(`${provider}: ${reason}`);
      options.log?.(`execution provider ${provider} unavailable for ${file}: ${reason}`);
      continue;
    }
    options.log?.(`execution provider ${provider} runs ${file}`);
    return {
      provider,
      async run(pixels, count, shape) {
        const input = new ort.Tensor('float32', pixels, [count, shape.channels, shape.height, shape.width]);
        const out = await session.run({ [INPUT_NAME]: input });
        return {
          logits: floats(out[OUTPUT.logits], OUTPUT.logits),
          probabilities: floats(out[OUTPUT.probabilities], OUTPUT.probabilities),
          adversarialScore: floats(out[OUTPUT.adversarialScore], OUTPUT.adversarialScore),
        };
      },
      close: () => session.release(),
    };
  }
  throw new Error(`no execution provider could open ${file}: ${failures.join('; ')}`);
}
