import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import type { Model } from '../../src/model/types.js';

/** Runs an exported model as the service would: CPU provider, every graph optimisation on. */
export async function onnxSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
  });
}

export interface Outputs {
  readonly logits: Float32Array;
  readonly probabilities: Float32Array;
  readonly score: Float32Array;
}

/** NHWC → NCHW for `n` images. */
export function toNchw(nhwc: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(nhwc.length);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) {
          out[((i * c + k) * h + y) * w + x] = nhwc[((i * h + y) * w + x) * c + k] as number;
        }
      }
    }
  }
  return out;
}

/** Runs the ONNX model on NHWC images in batches of `batchSize`. */
export async function runOnnx(
  session: ort.InferenceSession,
  nhwc: Float32Array,
  n: number,
  shape: { height: number; width: number; channels: number },
  batchSize: number,
): Promise<Outputs> {
  const { height: h, width: w, channels: c } = shape;
  const per = h * w * c;
  const nchw = toNchw(nhwc, n, h, w, c);
  const logits: number[] = [];
  const probabilities: number[] = [];
  const score: number[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const input = new ort.Tensor('float32', nchw.slice(start * per, (start + b) * per), [b, c, h, w]);
    const out = await session.run({ pixels: input });
    logits.push(...(out.logits?.data as Float32Array));
    probabilities.push(...(out.probabilities?.data as Float32Array));
    score.push(...(out.adversarial_score?.data as Float32Array));
  }
  return { logits: Float32Array.from(logits), probabilities: Float32Array.from(probabilities), score: Float32Array.from(score) };
}

/** The tfjs model in inference mode; score = 1 − P(clean), or 0 without a router. */
export function runTf(model: Model, nhwc: Float32Array, n: number, batchSize = 64): Outputs {
  const { height, width, channels } = model.config.input;
  const per = height * width * channels;
  const logits: number[] = [];
  const probabilities: number[] = [];
  const score: number[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const [l, p, s] = tf.tidy(() => {
      const x = tf.tensor4d(nhwc.subarray(start * per, (start + b) * per), [b, height, width, channels]);
      const r = model.forward(x, { training: false });
      return [r.logits, tf.softmax(r.logits), r.pClean ? tf.sub(1, r.pClean) : tf.zeros([b])];
    });
    logits.push(...(l.dataSync() as Float32Array));
    probabilities.push(...(p.dataSync() as Float32Array));
    score.push(...(s.dataSync() as Float32Array));
    tf.dispose([l, p, s]);
  }
  return { logits: Float32Array.from(logits), probabilities: Float32Array.from(probabilities), score: Float32Array.from(score) };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

export function argmaxRows(values: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if ((values[r * cols + c] as number) > (values[r * cols + best] as number)) best = c;
    out.push(best);
  }
  return out;
}
