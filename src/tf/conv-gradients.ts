import * as tf from '@tensorflow/tfjs';

/**
 * The two gradients of a 2-D convolution, written only with operations that the wasm
 * backend runs fast (forward conv2d, untransposed matMul, transpose, pad, slice,
 * reshape, concat). Its own Conv2DBackpropInput is ~10× slower than its forward conv
 * and it has no Conv2DBackpropFilter at all.
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

function convInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  geometry: ConvGeometry,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    geometry.strides,
    1,
    geometry.pad,
    geometry.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * Pads (positive amounts) and crops (negative amounts) the two spatial axes of an
 * NHWC tensor in one go.
 */
function padOrCrop(
  x: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.Tensor4D {
  let out = x;
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    out = tf.pad(out, [
      [0, 0],
      [Math.max(top, 0), Math.max(bottom, 0)],
      [Math.max(left, 0), Math.max(right, 0)],
      [0, 0],
    ]);
  }
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = out.shape;
    const t0 = Math.max(-top, 0);
    const l0 = Math.max(-left, 0);
    out = tf.slice(out, [0, t0, l0, 0], [n, h - t0 - Math.max(-bottom, 0), w - l0 - Math.max(-right, 0), c]);
  }
  return out;
}

/**
 * Every `stride`-th row and column starting at (rowStart, colStart), count × count
 * positions, from an NHWC (or any 4-D, spatial axes 1 and 2) tensor. Strided slicing
 * is done with reshape + slice, which the wasm backend runs as plain copies.
 */
export function stridedWindow(
  x: tf.Tensor4D,
  rowStart: number,
  colStart: number,
  rows: number,
  cols: number,
  strideH: number,
  strideW: number,
): tf.Tensor4D {
  const [n, , , c] = x.shape;
  if (strideH === 1 && strideW === 1) {
    return tf.slice(x, [0, rowStart, colStart, 0], [n, rows, cols, c]);
  }
  // Take a window of rows*strideH × cols*strideW (padding the end if the input is
  // short), fold each stride into its own axis and keep phase 0.
  const needH = rowStart + rows * strideH;
  const needW = colStart + cols * strideW;
  const padded = padOrCrop(x, 0, Math.max(needH - x.shape[1], 0), 0, Math.max(needW - x.shape[2], 0));
  const window = tf.slice(padded, [0, rowStart, colStart, 0], [n, rows * strideH, cols * strideW, c]);
  const folded = tf.reshape(window, [n, rows, strideH, cols, strideW * c]);
  const phase = tf.slice(folded, [0, 0, 0, 0, 0], [n, rows, 1, cols, c]);
  return tf.reshape(phase, [n, rows, cols, c]);
}

/**
 * dL/dfilter of conv2d(x, filter). For each filter tap the matching strided window of
 * the (padded) input, laid out channel-major, is one block of rows of an im2col
 * matrix [kh·kw·inC, N·outH·outW]; one untransposed matMul with dy [N·outH·outW, outC]
 * gives the whole gradient already in [kh, kw, inC, outC] order.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, geometry);
    const { padInfo, strideHeight: sh, strideWidth: sw, outHeight, outWidth } = info;
    const [kh, kw, inC, outC] = filterShape;
    const n = x.shape[0];
    const m = n * outHeight * outWidth;
    const xp = padOrCrop(x, padInfo.top, padInfo.bottom, padInfo.left, padInfo.right);
    // Channel-major [inC, N, H, W] so that each tap's window flattens to [inC, N·oH·oW].
    const xt = tf.transpose(xp, [3, 0, 1, 2]) as tf.Tensor4D;
    // stridedWindow works on axes 1 and 2; view [inC, N, H, W] as [inC·N, H, W, 1].
    const xv = tf.reshape(xt, [inC * n, xp.shape[1], xp.shape[2], 1]) as tf.Tensor4D;
    const blocks: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const w = stridedWindow(xv, i, j, outHeight, outWidth, sh, sw);
        blocks.push(tf.reshape(w, [inC, m]) as tf.Tensor2D);
      }
    }
    const cols = blocks.length === 1 ? blocks[0]! : tf.concat(blocks, 0);
    const g = tf.matMul(cols, tf.reshape(dy, [m, outC]) as tf.Tensor2D);
    return tf.reshape(g, [kh, kw, inC, outC]) as tf.Tensor4D;
  });
}

/**
 * dL/dx of conv2d(x, filter), as forward stride-1 convolutions of dy with the
 * spatially flipped, in/out-swapped filter. For stride s > 1 the input gradient splits
 * into s×s phases (rows ≡ a, columns ≡ b mod s); each phase only meets the filter taps
 * of one residue class, so it is a stride-1 convolution of the undilated dy with that
 * sub-filter. This costs the same multiply-adds as the forward pass instead of the
 * s²× of convolving a zero-dilated dy.
 */
export function conv2dInputGradient(
  inputShape: readonly [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, geometry);
    const { padInfo, strideHeight: sh, strideWidth: sw, outHeight, outWidth } = info;
    const [n, inH, inW, inC] = inputShape;
    const [kh, kw] = filter.shape;
    // [kh, kw, outC, inC], flipped in both spatial axes.
    const flipped = tf.reverse(tf.transpose(filter, [0, 1, 3, 2]), [0, 1]) as tf.Tensor4D;
    if (sh === 1 && sw === 1) {
      const padded = padOrCrop(
        dy,
        kh - 1 - padInfo.top,
        inH + padInfo.top - outHeight,
        kw - 1 - padInfo.left,
        inW + padInfo.left - outWidth,
      );
      return tf.conv2d(padded, flipped, 1, 'valid');
    }
    // Phase (a, b) holds dx rows r = a + sh·p. Row r receives dy[o]·f[k] where
    // k = r + top − sh·o, so k ≡ a + top (mod sh); with k = k0 + sh·t the
    // contribution is dy[p + q0 − t] for the tap t, i.e. a correlation of dy with the
    // sub-filter flipped, as below.
    const phH = Math.ceil(inH / sh);
    const phW = Math.ceil(inW / sw);
    const rowsOfPhases: tf.Tensor4D[] = [];
    for (let a = 0; a < sh; a++) {
      const phaseRow: tf.Tensor4D[] = [];
      for (let b = 0; b < sw; b++) {
        phaseRow.push(inputPhase(dy, flipped, a, b, phH, phW, kh, kw, sh, sw, padInfo, inC));
      }
      // [N, phH, phW, sw, inC] → interleave columns.
      rowsOfPhases.push(tf.reshape(tf.stack(phaseRow, 3), [n, phH, 1, phW * sw * inC]) as tf.Tensor4D);
    }
    const interleaved = tf.reshape(tf.concat(rowsOfPhases, 2), [n, phH * sh, phW * sw, inC]) as tf.Tensor4D;
    if (phH * sh === inH && phW * sw === inW) return interleaved;
    return tf.slice(interleaved, [0, 0, 0, 0], [n, inH, inW, inC]);
  });
}

/** One phase of the strided input gradient: a [N, phH, phW, inC] tensor. */
function inputPhase(
  dy: tf.Tensor4D,
  flipped: tf.Tensor4D,
  a: number,
  b: number,
  phH: number,
  phW: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  padInfo: tf.backend_util.PadInfo,
  inC: number,
): tf.Tensor4D {
  const n = dy.shape[0];
  // Taps k ≡ (a + top) mod s, k = k0 + s·t for t = 0 … taps−1.
  const k0h = (((a + padInfo.top) % sh) + sh) % sh;
  const k0w = (((b + padInfo.left) % sw) + sw) % sw;
  const tapsH = k0h < kh ? Math.ceil((kh - k0h) / sh) : 0;
  const tapsW = k0w < kw ? Math.ceil((kw - k0w) / sw) : 0;
  if (tapsH === 0 || tapsW === 0) return tf.zeros([n, phH, phW, inC]);
  // dx[a + s·p] = Σ_t dy[(a + top − k0)/s + p − t] · f[k0 + s·t]. In the flipped
  // filter tap k sits at kh−1−k, so the sub-filter taps run k0+s(T−1) … k0 in
  // flipped order, i.e. a correlation starting at dy row q0 − (T−1).
  const q0h = (a + padInfo.top - k0h) / sh;
  const q0w = (b + padInfo.left - k0w) / sw;
  const fStartH = kh - 1 - (k0h + sh * (tapsH - 1));
  const fStartW = kw - 1 - (k0w + sw * (tapsW - 1));
  const sub = stridedWindow(
    // stridedWindow strides axes 1 and 2; the flipped filter's spatial axes are 0 and 1.
    tf.reshape(flipped, [1, kh, kw, flipped.shape[2] * inC]) as tf.Tensor4D,
    fStartH,
    fStartW,
    tapsH,
    tapsW,
    sh,
    sw,
  );
  const subFilter = tf.reshape(sub, [tapsH, tapsW, flipped.shape[2], inC]) as tf.Tensor4D;
  // Correlation output p reads dy rows p + q0 − (T−1) … p + q0.
  const startH = q0h - (tapsH - 1);
  const startW = q0w - (tapsW - 1);
  const [, outH, outW] = dy.shape;
  const padded = padOrCrop(
    dy,
    -startH,
    phH + startH + tapsH - 1 - outH,
    -startW,
    phW + startW + tapsW - 1 - outW,
  );
  return tf.conv2d(padded, subFilter, 1, 'valid');
}
