import * as tf from '@tensorflow/tfjs';

/**
 * The two gradients of a 2-D convolution, written only with operations that the wasm
 * backend runs fast: forward conv2d (XNNPACK, padding included), untransposed matMul,
 * transpose, reshape. Its own Conv2DBackpropInput is ~10× slower than its forward conv
 * and it has no Conv2DBackpropFilter at all. Its Slice, Concat and DepthToSpace
 * kernels are per-row loops in JavaScript and its Pad is a slow copy, so those are
 * kept off large tensors here.
 *
 * Tensors are NHWC, filters [kh, kw, inC, outC], dilation 1 (tfjs refuses conv
 * gradients with dilation > 1 anyway).
 */

export type ConvPad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
export type RoundingMode = 'floor' | 'round' | 'ceil';

export interface ConvGeometry {
  readonly strides: number | [number, number];
  readonly pad: ConvPad;
  readonly dimRoundingMode?: RoundingMode;
}

type Shape4 = readonly [number, number, number, number];

function convInfo(xShape: Shape4, filterShape: Shape4, geometry: ConvGeometry): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    [...xShape] as [number, number, number, number],
    [...filterShape] as [number, number, number, number],
    geometry.strides,
    1,
    geometry.pad,
    geometry.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * A stride-1 'valid' conv2d of x extended by the given amounts on each side: positive
 * amounts become the convolution's own (zero) padding, which XNNPACK applies for free,
 * negative amounts crop (the wasm backend's pad kernel is a slow full copy).
 */
function convExtended(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  [top, bottom, left, right]: readonly [number, number, number, number],
  dilations: [number, number] = [1, 1],
): tf.Tensor4D {
  let input = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = x.shape;
    const cut = (v: number): number => Math.max(-v, 0);
    input = tf.slice(x, [0, cut(top), cut(left), 0], [n, h - cut(top) - cut(bottom), w - cut(left) - cut(right), c]);
  }
  const keep = (v: number): number => Math.max(v, 0);
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [keep(top), keep(bottom)], [keep(left), keep(right)], [0, 0]];
  const padded = pad.every(([a, b]) => a === 0 && b === 0);
  return tf.conv2d(input, filter, 1, padded ? 'valid' : pad, 'NHWC', dilations);
}

/**
 * dL/dfilter of conv2d(x, filter). With the batch axis moved into the channel slot,
 * the gradient is itself a forward convolution: the padded input [inC, H, W, N]
 * correlated with dy [oH, oW, N, outC] used as the filter, dilated by the stride.
 * Its output [inC, kh, kw, outC] (plus possibly a few rows the forward pass never
 * reached) is the gradient after one small transpose. An unpadded 1×1 convolution is
 * a matrix product: its gradient is xᵀ·dy over the input positions the stride visits.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Shape4,
  geometry: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, geometry);
    const { padInfo, strideHeight, strideWidth } = info;
    const [kh, kw, inC, outC] = filterShape;
    if (kh === 1 && kw === 1 && padInfo.top === 0 && padInfo.left === 0) {
      return pointwiseFilterGradient(x, dy, strideHeight, strideWidth);
    }
    const xt = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const g = convExtended(xt, dyAsFilter, [padInfo.top, padInfo.bottom, padInfo.left, padInfo.right], [
      strideHeight,
      strideWidth,
    ]);
    const exact = g.shape[1] === kh && g.shape[2] === kw ? g : tf.slice(g, [0, 0, 0, 0], [inC, kh, kw, outC]);
    return tf.transpose(exact, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * The filter gradient of an unpadded 1×1 convolution. The strided input positions are
 * picked by a strided 1×1 convolution with the identity (exact: one product by 1 per
 * value), which XNNPACK runs far faster than the backend's strided slicing.
 */
function pointwiseFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [, , , inC] = x.shape;
  const [n, outH, outW, outC] = dy.shape;
  const visited = sh === 1 && sw === 1 ? x : tf.conv2d(x, tf.reshape(tf.eye(inC), [1, 1, inC, inC]) as tf.Tensor4D, [sh, sw], 'valid');
  const m = n * outH * outW;
  const g = tf.matMul(tf.reshape(visited, [m, inC]), tf.reshape(dy, [m, outC]), true, false);
  return tf.reshape(g, [1, 1, inC, outC]);
}

/** How one spatial axis of a strided convolution splits into stride phases. */
interface AxisPlan {
  readonly stride: number;
  /** Input positions per phase (input length rounded up to a multiple of stride). */
  readonly phaseLength: number;
  /** First dy row of the shared window, relative to dy (may be negative). */
  readonly base: number;
  /** Window length, i.e. the combined filter's size along this axis. */
  readonly window: number;
  /** For phase a and window offset u, the filter tap that applies, or -1. */
  readonly tap: (phase: number, u: number) => number;
}

/**
 * Input position r = a + s·p (phase a) receives dy[o]·f[k] with k = r + padBefore − s·o,
 * so only taps k ≡ a + padBefore (mod s) meet phase a: k = k0 + s·t, t < T, and
 * dy[q0 + p − t] with q0 = (a + padBefore − k0) / s. All phases read one shared window
 * dy[p + base … p + base + window − 1]; tap t of phase a sits at u = q0 − t − base.
 */
function planAxis(stride: number, kernel: number, padBefore: number, inLength: number): AxisPlan {
  const phases = [...Array(stride).keys()].map((a) => {
    const k0 = (((a + padBefore) % stride) + stride) % stride;
    const taps = k0 < kernel ? Math.ceil((kernel - k0) / stride) : 0;
    return { k0, taps, q0: (a + padBefore - k0) / stride };
  });
  const used = phases.filter((p) => p.taps > 0);
  const base = Math.min(...used.map((p) => p.q0 - (p.taps - 1)));
  const window = Math.max(...used.map((p) => p.q0 - base + 1));
  return {
    stride,
    phaseLength: Math.ceil(inLength / stride),
    base,
    window,
    tap: (a, u) => {
      const p = phases[a]!;
      const t = p.q0 - base - u;
      return t >= 0 && t < p.taps ? p.k0 + stride * t : -1;
    },
  };
}

/**
 * The combined filter [U, V, outC, sh·sw·inC]: output channel block (a·sw + b) holds
 * phase (a, b)'s taps at their window offsets, zeros elsewhere. Built as a 0/1
 * selection matrix times the filter, so it stays on the backend and differentiable.
 */
function phaseFilter(filter: tf.Tensor4D, rows: AxisPlan, cols: AxisPlan): tf.Tensor4D {
  const [kh, kw, inC, outC] = filter.shape;
  const phases = rows.stride * cols.stride;
  const selection = new Float32Array(rows.window * cols.window * phases * kh * kw);
  let row = 0;
  for (let u = 0; u < rows.window; u++) {
    for (let v = 0; v < cols.window; v++) {
      for (let a = 0; a < rows.stride; a++) {
        for (let b = 0; b < cols.stride; b++, row++) {
          const i = rows.tap(a, u);
          const j = cols.tap(b, v);
          if (i >= 0 && j >= 0) selection[row * kh * kw + i * kw + j] = 1;
        }
      }
    }
  }
  const taps = tf.reshape(tf.transpose(filter, [0, 1, 3, 2]), [kh * kw, outC * inC]);
  const picked = tf.matMul(tf.tensor2d(selection, [rows.window * cols.window * phases, kh * kw]), taps);
  const byPhase = tf.reshape(picked, [rows.window * cols.window, phases, outC, inC]);
  const ordered = phases === 1 ? byPhase : tf.transpose(byPhase, [0, 2, 1, 3]);
  return tf.reshape(ordered, [rows.window, cols.window, outC, phases * inC]) as tf.Tensor4D;
}

/**
 * dL/dx of conv2d(x, filter) as one stride-1 forward convolution ("sub-pixel"
 * transposed convolution): every stride phase of dx is a correlation of the undilated
 * dy with a sub-filter, all phases share one window, so a single conv with
 * sh·sw·inC output channels computes them, and a reshape-transpose interleaves them.
 * Stride 1 is the special case of one phase, the flipped filter.
 */
export function conv2dInputGradient(
  inputShape: Shape4,
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, geometry);
    const { padInfo, strideHeight: sh, strideWidth: sw } = info;
    const [n, inH, inW, inC] = inputShape;
    const [kh, kw] = filter.shape;
    const rows = planAxis(sh, kh, padInfo.top, inH);
    const cols = planAxis(sw, kw, padInfo.left, inW);
    const [, outH, outW] = dy.shape;
    const phased = convExtended(dy, phaseFilter(filter, rows, cols), [
      -rows.base,
      rows.base + rows.phaseLength + rows.window - 1 - outH,
      -cols.base,
      cols.base + cols.phaseLength + cols.window - 1 - outW,
    ]);
    let dx: tf.Tensor4D;
    if (sh === 1 && sw === 1) {
      dx = phased;
    } else {
      // Interleave the phases (depthToSpace, which on wasm is ~20× slower than this).
      const split = tf.reshape(phased, [n, rows.phaseLength, cols.phaseLength, sh, sw, inC]);
      dx = tf.reshape(tf.transpose(split, [0, 1, 3, 2, 4, 5]), [
        n,
        rows.phaseLength * sh,
        cols.phaseLength * sw,
        inC,
      ]) as tf.Tensor4D;
    }
    if (dx.shape[1] === inH && dx.shape[2] === inW) return dx;
    return tf.slice(dx, [0, 0, 0, 0], [n, inH, inW, inC]);
  });
}
