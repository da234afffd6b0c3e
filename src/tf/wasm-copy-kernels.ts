import * as tf from '@tensorflow/tfjs';
import { callOriginal, input, shareBuffer, wasmBackend, type Attrs, type KernelFactory } from './kernel-utils.js';

/*
 * Kernels that only move data. The wasm backend's own Identity and Cast copy every
 * element even when nothing changes (and the engine clones each tensor it saves for a
 * gradient, so a training step makes hundreds of such copies), and its Slice first
 * copies the whole input out of the wasm heap. Tensors are immutable, so sharing a
 * buffer is safe: the backend's Reshape does the same.
 */

/** Identity without a copy. */
export const sharedIdentity: KernelFactory = (original) => (args) => {
  const x = input(args.inputs, 'x');
  if (x.dtype === 'string') return callOriginal(original, args);
  return shareBuffer(args.backend, x);
};

/** Cast to the dtype the tensor already has, without a copy. */
export const sharedSameTypeCast: KernelFactory = (original) => (args) => {
  const x = input(args.inputs, 'x');
  if (x.dtype === 'string' || x.dtype !== (args.attrs as Attrs)['dtype']) return callOriginal(original, args);
  return shareBuffer(args.backend, x);
};

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Slice reading straight from the wasm heap, one contiguous run at a time. */
export const heapSlice: KernelFactory = (original) => (args) => {
  const x = input(args.inputs, 'x');
  const attrs = args.attrs as Attrs;
  if (x.dtype === 'string') return callOriginal(original, args);
  const [begin, size] = tf.slice_util.parseSliceParams(
    x,
    attrs['begin'] as number | number[],
    attrs['size'] as number | number[] | undefined,
  ) as [number[], number[]];
  if (size.some((s) => s === 0)) return callOriginal(original, args);
  return copyWindow(args.backend, x, begin, size);
};

/** tf.split's kernel, each piece cut by copyWindow (the backend's copies the input per piece). */
export const heapSplit: KernelFactory = (original) => (args) => {
  const x = input(args.inputs, 'x');
  const attrs = args.attrs as Attrs;
  if (x.dtype === 'string') return callOriginal(original, args);
  const axis = tf.util.parseAxisParam(attrs['axis'] as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x, attrs['numOrSizeSplits'] as number | number[], axis);
  if (sizes.some((s) => s === 0)) return callOriginal(original, args);
  const begin = x.shape.map(() => 0);
  return sizes.map((s) => {
    const size = x.shape.map((d, i) => (i === axis ? s : d));
    const piece = copyWindow(args.backend, x, begin, size);
    begin[axis]! += s;
    return piece;
  });
};

/** The window [begin, begin + size) of x as a new tensor (x itself, shared, if it is all of x). */
function copyWindow(backendObject: unknown, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const shape = x.shape;
  if (size.every((s, i) => s === shape[i])) return shareBuffer(backendObject, x);
  // Axes after k are taken whole, so each run spans size[k]·(their product) elements.
  let k = shape.length - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const strides = [...tf.util.computeStrides(shape), 1];
  const run = size[k]! * product(shape.slice(k + 1));
  const start = begin.reduce((off, b, i) => off + b * strides[i]!, 0);
  const backend = wasmBackend(backendObject);
  // Views are taken after the allocation: growing the wasm memory detaches older views.
  const out = backend.makeOutput(size, x.dtype);
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const counts = size.slice(0, k);
  const index = new Array<number>(k).fill(0);
  const rows = product(counts);
  for (let r = 0, d = 0; r < rows; r++, d += run) {
    let s = start;
    for (let i = 0; i < k; i++) s += index[i]! * strides[i]!;
    if (run >= 32) dst.set(src.subarray(s, s + run), d);
    else for (let j = 0; j < run; j++) dst[d + j] = src[s + j]!;
    for (let i = k - 1; i >= 0; i--) {
      if (++index[i]! < counts[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}
