import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGradient, conv2dInputGradient, type ConvGeometry } from './conv-gradients.js';
import { callOriginal, input, kernelFromOps, type Attrs, type KernelFactory } from './kernel-utils.js';

function geometryOf(attrs: Attrs): ConvGeometry {
  return {
    strides: attrs['strides'] as ConvGeometry['strides'],
    pad: attrs['pad'] as ConvGeometry['pad'],
    dimRoundingMode: (attrs['dimRoundingMode'] ?? undefined) as ConvGeometry['dimRoundingMode'],
  };
}

function requireNHWC(kernel: string, attrs: Attrs): void {
  const format = attrs['dataFormat'];
  if (format !== undefined && format !== 'NHWC') {
    // The wasm backend's forward Conv2D is NHWC-only too, so only a direct call lands here.
    throw new Error(`${kernel} on the wasm backend takes dataFormat 'NHWC', got '${String(format)}'`);
  }
}

/** The filter gradient, which the wasm backend lacks altogether. */
export const conv2dBackpropFilter: KernelFactory = () =>
  kernelFromOps(['x', 'dy'], ([x, dy], attrs) => {
    requireNHWC('Conv2DBackpropFilter', attrs);
    const filterShape = attrs['filterShape'] as [number, number, number, number];
    return conv2dFilterGradient(x as tf.Tensor4D, dy as tf.Tensor4D, filterShape, geometryOf(attrs));
  });

/** The input gradient, ~10× faster than the backend's own. */
export const conv2dBackpropInput: KernelFactory = () =>
  kernelFromOps(['dy', 'filter'], ([dy, filter], attrs) => {
    requireNHWC('Conv2DBackpropInput', attrs);
    const inputShape = attrs['inputShape'] as [number, number, number, number];
    return conv2dInputGradient(inputShape, dy as tf.Tensor4D, filter as tf.Tensor4D, geometryOf(attrs));
  });

/**
 * The forward convs (Conv2D, FusedConv2D): with 'same' padding and a stride larger
 * than the filter, the backend's XNNPACK call returns zeros; the same padding spelled
 * out explicitly gives the right answer.
 */
export const explicitSamePadding: KernelFactory = (original) => (args) => {
  const attrs = args.attrs as Attrs;
  if (attrs['pad'] !== 'same') return callOriginal(original, args);
  const x = input(args.inputs, 'x');
  const filter = input(args.inputs, 'filter');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs['strides'] as number | [number, number],
    (attrs['dilations'] ?? 1) as number | [number, number],
    'same',
  );
  if (info.strideHeight <= info.filterHeight && info.strideWidth <= info.filterWidth) {
    return callOriginal(original, args);
  }
  const { top, bottom, left, right } = info.padInfo;
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]];
  return callOriginal(original, { ...args, attrs: { ...attrs, pad } });
};
