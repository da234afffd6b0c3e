import * as tf from '@tensorflow/tfjs';

/** What the wasm kernels here need from the wasm backend object. */
export interface WasmBackendLike {
  incRef(dataId: tf.DataId): void;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export type Inputs = tf.NamedTensorInfoMap;
export type Attrs = tf.NamedAttrMap;

/** A replacement kernel, made from the backend's original (absent if it has none). */
export type KernelFactory = (original: tf.KernelConfig | undefined) => tf.KernelFunc;

export function wasmBackend(backend: unknown): WasmBackendLike {
  return backend as WasmBackendLike;
}

/** The input tensor called `name`; a kernel called with a missing input is a bug upstream. */
export function input(inputs: unknown, name: string): tf.TensorInfo {
  const info = (inputs as Inputs)[name];
  if (info === undefined) throw new Error(`kernel input '${name}' is missing`);
  return info;
}

/** A Tensor for a kernel input (which the engine usually passes as one already). */
export function asTensor(info: tf.TensorInfo): { tensor: tf.Tensor; owned: boolean } {
  if (info instanceof tf.Tensor) return { tensor: info, owned: false };
  return { tensor: tf.engine().makeTensorFromTensorInfo(info), owned: true };
}

/** The same buffer under another shape, as the backend's own Reshape does it: no copy. */
export function shareBuffer(backend: unknown, x: tf.TensorInfo, shape: number[] = x.shape): tf.TensorInfo {
  wasmBackend(backend).incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

/**
 * A kernel whose body is written with tf ops. The ops run while the engine is inside
 * a kernel, so nothing is recorded on a gradient tape; intermediates are freed by
 * tidy and the result's buffer is handed to the engine by one extra reference.
 */
export function kernelFromOps(
  inputNames: readonly string[],
  compute: (inputs: tf.Tensor[], attrs: Attrs) => tf.Tensor,
): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const wrapped = inputNames.map((name) => asTensor(input(inputs, name)));
    try {
      const out = tf.tidy(() => {
        const result = compute(
          wrapped.map((w) => w.tensor),
          attrs as Attrs,
        );
        // Never hand back (and then dispose) one of the inputs themselves.
        return wrapped.some((w) => w.tensor === result) ? tf.clone(result) : result;
      });
      const info = shareBuffer(backend, out);
      out.dispose();
      return info;
    } finally {
      for (const w of wrapped) if (w.owned) w.tensor.dispose();
    }
  };
}

/** Calls the backend's original kernel; a factory given no original has nothing to defer to. */
export function callOriginal(
  original: tf.KernelConfig | undefined,
  args: Parameters<tf.KernelFunc>[0],
): ReturnType<tf.KernelFunc> {
  if (original === undefined) throw new Error('no original wasm kernel to defer to');
  return original.kernelFunc(args);
}
