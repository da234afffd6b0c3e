import * as tf from '@tensorflow/tfjs';
import { asTensor, callOriginal, input, shareBuffer, type KernelFactory } from './kernel-utils.js';

/*
 * Multiply, Add and Sub of a tensor with a per-channel vector (shape [C] or [1, …, 1, C]
 * against [..., C]), as batch norm and its gradient do in every layer. The wasm
 * backend runs broadcasting binary ops through a generic index loop, 2–4× slower than
 * XNNPACK's same-shape ops. A per-channel product is a 1×1 depthwise convolution, and
 * with a bias a per-channel sum; XNNPACK runs those at the speed of a copy, and the
 * results are exact (x·s, and x·1 + b, are single roundings as in the plain ops).
 */

type Op = 'mul' | 'add' | 'sub';

interface ChannelBroadcast {
  /** The full tensor and the per-channel vector. */
  readonly big: tf.TensorInfo;
  readonly channels: tf.TensorInfo;
  /** True when the vector is the left operand (matters for Sub). */
  readonly vectorFirst: boolean;
}

function isChannelVector(v: tf.TensorInfo, big: tf.TensorInfo): boolean {
  const c = big.shape[big.shape.length - 1]!;
  return (
    v.shape.length >= 1 &&
    v.shape.length <= big.shape.length &&
    v.shape[v.shape.length - 1] === c &&
    v.shape.slice(0, -1).every((d) => d === 1)
  );
}

function match(a: tf.TensorInfo, b: tf.TensorInfo): ChannelBroadcast | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const size = (t: tf.TensorInfo) => t.shape.reduce((p, d) => p * d, 1);
  if (size(a) > size(b) && a.shape.length >= 2 && isChannelVector(b, a)) return { big: a, channels: b, vectorFirst: false };
  if (size(b) > size(a) && b.shape.length >= 2 && isChannelVector(a, b)) return { big: b, channels: a, vectorFirst: true };
  return null;
}

function depthwise(op: Op, big: tf.Tensor, vector: tf.Tensor, vectorFirst: boolean): tf.Tensor {
  const c = big.shape[big.shape.length - 1]!;
  const x = tf.reshape(big, [1, 1, big.size / c, c]) as tf.Tensor4D;
  const v = tf.reshape(vector, [c]);
  let out: tf.Tensor;
  if (op === 'mul') {
    out = tf.depthwiseConv2d(x, tf.reshape(v, [1, 1, c, 1]) as tf.Tensor4D, 1, 'valid');
  } else {
    // x + v, x − v = x·1 + (−v), v − x = x·(−1) + v.
    const sign = op === 'sub' && vectorFirst ? -1 : 1;
    const filter = tf.fill([1, 1, c, 1], sign) as tf.Tensor4D;
    // A fresh buffer: the backend's fused kernel checks the rank the buffer was made with,
    // which a reshaped [1, C] vector still carries.
    const bias = tf.mul(v, op === 'sub' && !vectorFirst ? -1 : 1);
    out = tf.fused.depthwiseConv2d({ x, filter, strides: 1, pad: 'valid', bias });
  }
  return tf.reshape(out, big.shape);
}

function channelBroadcast(op: Op): KernelFactory {
  return (original) => (args) => {
    const m = match(input(args.inputs, 'a'), input(args.inputs, 'b'));
    if (m === null) return callOriginal(original, args);
    const big = asTensor(m.big);
    const vector = asTensor(m.channels);
    try {
      const out = tf.tidy(() => depthwise(op, big.tensor, vector.tensor, m.vectorFirst));
      const info = shareBuffer(args.backend, out);
      out.dispose();
      return info;
    } finally {
      if (big.owned) big.tensor.dispose();
      if (vector.owned) vector.tensor.dispose();
    }
  };
}

export const channelMultiply = channelBroadcast('mul');
export const channelAdd = channelBroadcast('add');
export const channelSub = channelBroadcast('sub');
