import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGradient, conv2dInputGradient, type ConvGeometry } from './conv-gradients.js';

/**
 * Training kernels for the wasm backend. Its forward conv2d and plain matMul run
 * through XNNPACK at full speed, but Conv2DBackpropFilter is missing, and
 * Conv2DBackpropInput and matMul with transposes run ~10× slower. These kernels
 * re-express those operations through the fast paths. Registering kernels (rather
 * than overriding gradients) also covers every caller of the ops: tf.grad of conv2d,
 * the custom gradients of tf.fused.conv2d / tf.fused.matMul, and direct calls.
 */

const BACKEND = 'wasm';

interface RefCounting {
  incRef(dataId: tf.DataId): void;
}

type Inputs = tf.NamedTensorInfoMap;
type Attrs = tf.NamedAttrMap;

/** Originals replaced by install(), restored by uninstall(). */
const replaced = new Map<string, tf.KernelConfig | undefined>();

function asTensor(info: tf.TensorInfo): { tensor: tf.Tensor; owned: boolean } {
  if (info instanceof tf.Tensor) return { tensor: info, owned: false };
  return { tensor: tf.engine().makeTensorFromTensorInfo(info), owned: true };
}

/**
 * A kernel whose body is written with tf ops. The ops run while the engine is inside
 * a kernel, so nothing is recorded on a gradient tape; intermediates are freed by
 * tidy and the result's buffer is handed to the engine by one extra reference.
 */
function kernelFromOps(
  inputNames: readonly string[],
  compute: (inputs: tf.Tensor[], attrs: Attrs) => tf.Tensor,
): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const wrapped = inputNames.map((name) => {
      const info = (inputs as Inputs)[name];
      if (info === undefined) throw new Error(`kernel input '${name}' is missing`);
      return asTensor(info);
    });
    try {
      const out = tf.tidy(() => {
        const result = compute(
          wrapped.map((w) => w.tensor),
          attrs as Attrs,
        );
        // Never hand back (and then dispose) one of the inputs themselves.
        return wrapped.some((w) => w.tensor === result) ? tf.clone(result) : result;
      });
      (backend as unknown as RefCounting).incRef(out.dataId);
      const info: tf.TensorInfo = { dataId: out.dataId, shape: out.shape, dtype: out.dtype };
      out.dispose();
      return info;
    } finally {
      for (const w of wrapped) if (w.owned) w.tensor.dispose();
    }
  };
}

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

const conv2dBackpropFilter = kernelFromOps(['x', 'dy'], ([x, dy], attrs) => {
  requireNHWC('Conv2DBackpropFilter', attrs);
  const filterShape = attrs['filterShape'] as [number, number, number, number];
  return conv2dFilterGradient(x as tf.Tensor4D, dy as tf.Tensor4D, filterShape, geometryOf(attrs));
});

const conv2dBackpropInput = kernelFromOps(['dy', 'filter'], ([dy, filter], attrs) => {
  requireNHWC('Conv2DBackpropInput', attrs);
  const inputShape = attrs['inputShape'] as [number, number, number, number];
  return conv2dInputGradient(inputShape, dy as tf.Tensor4D, filter as tf.Tensor4D, geometryOf(attrs));
});

/**
 * Wraps the forward conv kernels: with 'same' padding and a stride larger than the
 * filter, the wasm backend's XNNPACK call returns zeros; the same padding spelled out
 * explicitly gives the right answer.
 */
function explicitSamePadding(original: tf.KernelConfig): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const a = attrs as Attrs;
    const x = (inputs as Inputs)['x'];
    const filter = (inputs as Inputs)['filter'];
    if (a['pad'] !== 'same' || x === undefined || filter === undefined) {
      return original.kernelFunc({ inputs, attrs, backend });
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a['strides'] as number | [number, number],
      (a['dilations'] ?? 1) as number | [number, number],
      'same',
    );
    if (info.strideHeight <= info.filterHeight && info.strideWidth <= info.filterWidth) {
      return original.kernelFunc({ inputs, attrs, backend });
    }
    const { top, bottom, left, right } = info.padInfo;
    const pad: tf.backend_util.ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]];
    return original.kernelFunc({ inputs, attrs: { ...a, pad }, backend });
  };
}

/**
 * Wraps a matMul kernel: operands flagged for transposition are transposed explicitly
 * (a cheap copy) and the original kernel runs untransposed, on its fast path.
 */
function untransposedMatMul(original: tf.KernelConfig): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const a = attrs as Attrs;
    if (a['transposeA'] !== true && a['transposeB'] !== true) {
      return original.kernelFunc({ inputs, attrs, backend });
    }
    const temps: tf.Tensor[] = [];
    const swapLastTwo = (info: tf.TensorInfo): tf.TensorInfo => {
      const { tensor, owned } = asTensor(info);
      const rank = tensor.shape.length;
      const perm = [...Array(rank).keys()];
      [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
      const t = tf.transpose(tensor, perm);
      if (owned) tensor.dispose();
      temps.push(t);
      return t;
    };
    const named = inputs as Inputs;
    try {
      const newInputs: Inputs = { ...named };
      if (a['transposeA'] === true) newInputs['a'] = swapLastTwo(named['a']!);
      if (a['transposeB'] === true) newInputs['b'] = swapLastTwo(named['b']!);
      return original.kernelFunc({
        inputs: newInputs,
        attrs: { ...a, transposeA: false, transposeB: false },
        backend,
      });
    } finally {
      for (const t of temps) t.dispose();
    }
  };
}

function replaceKernel(config: tf.KernelConfig): void {
  const { kernelName } = config;
  const existing = tf.getKernel(kernelName, BACKEND);
  if (!replaced.has(kernelName)) replaced.set(kernelName, existing);
  if (existing !== undefined) tf.unregisterKernel(kernelName, BACKEND);
  tf.registerKernel(config);
}

/** True once the training kernels are registered for the wasm backend. */
export function wasmTrainingKernelsInstalled(): boolean {
  return replaced.size > 0;
}

/**
 * Registers the fast training kernels for the wasm backend (idempotent). Needs the
 * wasm backend's own kernels registered first, i.e. `@tensorflow/tfjs-backend-wasm`
 * imported.
 */
export function installWasmTrainingKernels(): void {
  if (wasmTrainingKernelsInstalled()) return;
  const wrappers: Record<string, (original: tf.KernelConfig) => tf.KernelFunc> = {
    BatchMatMul: untransposedMatMul,
    _FusedMatMul: untransposedMatMul,
    Conv2D: explicitSamePadding,
    FusedConv2D: explicitSamePadding,
  };
  for (const [name, wrap] of Object.entries(wrappers)) {
    const original = tf.getKernel(name, BACKEND);
    if (original === undefined) {
      throw new Error(`the wasm backend has no '${name}' kernel; import @tensorflow/tfjs-backend-wasm first`);
    }
    // setupFunc stays: the original kernel's wasm bindings are made when the backend starts.
    replaceKernel({ ...original, kernelFunc: wrap(original) });
  }
  replaceKernel({ kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: conv2dBackpropFilter });
  replaceKernel({ kernelName: 'Conv2DBackpropInput', backendName: BACKEND, kernelFunc: conv2dBackpropInput });
}

/** Puts the wasm backend's own kernels back (for comparisons and tests). */
export function uninstallWasmTrainingKernels(): void {
  for (const [name, original] of replaced) {
    tf.unregisterKernel(name, BACKEND);
    if (original !== undefined) tf.registerKernel(original);
  }
  replaced.clear();
}
