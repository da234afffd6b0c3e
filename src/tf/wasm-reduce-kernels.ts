import * as tf from '@tensorflow/tfjs';
import { asTensor, callOriginal, input, shareBuffer, type Attrs, type KernelFactory } from './kernel-utils.js';

/*
 * Sum and Mean over axes that are not the innermost. The wasm backend transposes the
 * reduced axes to the end before reducing; batch norm's statistics (axes N, H, W of
 * NHWC), their gradients, global average pooling and the gradient of per-sample
 * channel scaling (H, W) all take that slow road. A reduction over a contiguous block
 * of axes, viewed as [outer, mid, inner], is an average pool over a [mid, 1] window,
 * which XNNPACK runs ~10× faster than the transpose. (A product with a vector of ones
 * would be as fast if XNNPACK did not repack its right-hand operand, here the whole
 * activation, on every call.) Long windows are pooled in two stages of about √mid
 * each, which keeps the float32 accumulation as accurate as the backend's own sum.
 */

interface Plan {
  readonly outer: number;
  readonly mid: number;
  readonly inner: number;
  readonly outShape: number[];
}

function plan(x: tf.TensorInfo, attrs: Attrs): Plan | null {
  if (x.dtype !== 'float32') return null;
  const shape = x.shape;
  const axes = [...new Set(tf.util.parseAxisParam(attrs['axis'] as number | number[], shape))].sort((a, b) => a - b);
  if (axes.length === 0) return null;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  // Innermost reductions are already fast; gaps between axes would need a transpose.
  if (last === shape.length - 1 || last - first + 1 !== axes.length) return null;
  const prod = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
  const mid = prod(shape.slice(first, last + 1));
  if (mid <= 1) return null;
  const keepDims = attrs['keepDims'] === true;
  const outShape = shape.flatMap((d, i) => (i < first || i > last ? [d] : keepDims ? [1] : []));
  return { outer: prod(shape.slice(0, first)), mid, inner: prod(shape.slice(last + 1)), outShape };
}

/** Windows longer than this are pooled in two stages. */
const ONE_STAGE_WINDOW = 1024;

/** The divisor of n closest to √n from below (1 for primes). */
function splitFactor(n: number): number {
  for (let d = Math.floor(Math.sqrt(n)); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

function reduce(x: tf.Tensor, p: Plan, mean: boolean): tf.Tensor {
  const pool = (t: tf.Tensor, groups: number, window: number): tf.Tensor4D =>
    tf.avgPool(tf.reshape(t, [groups, window, 1, p.inner]) as tf.Tensor4D, [window, 1], 1, 'valid');
  const inner = p.mid > ONE_STAGE_WINDOW ? splitFactor(p.mid) : 1;
  const averaged =
    inner > 1 ? pool(pool(x, p.outer * (p.mid / inner), inner), p.outer, p.mid / inner) : pool(x, p.outer, p.mid);
  return mean ? averaged : tf.mul(averaged, p.mid);
}

function reduceFast(mean: boolean): KernelFactory {
  return (original) => (args) => {
    const x = input(args.inputs, 'x');
    const p = plan(x, args.attrs as Attrs);
    if (p === null) return callOriginal(original, args);
    const { tensor, owned } = asTensor(x);
    try {
      const out = tf.tidy(() => reduce(tensor, p, mean));
      const info = shareBuffer(args.backend, out, p.outShape);
      out.dispose();
      return info;
    } finally {
      if (owned) tensor.dispose();
    }
  };
}

export const fastSum = reduceFast(false);
export const fastMean = reduceFast(true);
