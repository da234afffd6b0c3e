import * as tf from '@tensorflow/tfjs';
import type { KernelFactory } from './kernel-utils.js';
import { channelAdd, channelMultiply, channelSub } from './wasm-broadcast-kernels.js';
import { heapSlice, heapSplit, sharedIdentity, sharedSameTypeCast } from './wasm-copy-kernels.js';
import { conv2dBackpropFilter, conv2dBackpropInput, explicitSamePadding } from './wasm-conv-kernels.js';
import { untransposedMatMul } from './wasm-matmul-kernels.js';
import { fastMean, fastSum } from './wasm-reduce-kernels.js';

/**
 * Training kernels for the wasm backend. Its forward conv2d and plain matMul run
 * through XNNPACK at full speed, but Conv2DBackpropFilter is missing, and
 * Conv2DBackpropInput, matMul with transposes, reductions over leading axes,
 * per-channel broadcasts and several copies run far slower than they need to. These kernels re-express those
 * operations through the fast paths. Registering kernels (rather than overriding
 * gradients) covers every caller: tf.grad of conv2d, the custom gradients of
 * tf.fused.conv2d / tf.fused.matMul, and direct calls.
 */

const BACKEND = 'wasm';

/** Kernel name → replacement. Factories get the backend's original kernel, if any. */
const REPLACEMENTS: Readonly<Record<string, KernelFactory>> = {
  Conv2DBackpropFilter: conv2dBackpropFilter,
  Conv2DBackpropInput: conv2dBackpropInput,
  Conv2D: explicitSamePadding,
  FusedConv2D: explicitSamePadding,
  BatchMatMul: untransposedMatMul,
  _FusedMatMul: untransposedMatMul,
  Multiply: channelMultiply,
  Add: channelAdd,
  Sub: channelSub,
  Sum: fastSum,
  Mean: fastMean,
  Identity: sharedIdentity,
  Cast: sharedSameTypeCast,
  Slice: heapSlice,
  SplitV: heapSplit,
};

/** The kernels this module replaces or adds. */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.keys(REPLACEMENTS);

/** Originals replaced by install(), restored by uninstall(). */
const replaced = new Map<string, tf.KernelConfig | undefined>();

/** True once the training kernels are registered for the wasm backend. */
export function wasmTrainingKernelsInstalled(): boolean {
  return replaced.size > 0;
}

/**
 * Registers the fast training kernels for the wasm backend (idempotent), all of them
 * or the named ones (for measuring what each contributes). Needs the wasm backend's
 * own kernels registered first, i.e. `@tensorflow/tfjs-backend-wasm` imported.
 */
export function installWasmTrainingKernels(names: readonly string[] = WASM_TRAINING_KERNELS): void {
  if (wasmTrainingKernelsInstalled()) return;
  if (tf.getKernel('Conv2D', BACKEND) === undefined) {
    throw new Error('the wasm backend has no kernels registered; import @tensorflow/tfjs-backend-wasm first');
  }
  for (const kernelName of names) {
    const factory = REPLACEMENTS[kernelName];
    if (factory === undefined) {
      throw new Error(`'${kernelName}' is not a wasm training kernel; known: ${WASM_TRAINING_KERNELS.join(', ')}`);
    }
    const original = tf.getKernel(kernelName, BACKEND);
    replaced.set(kernelName, original);
    if (original !== undefined) tf.unregisterKernel(kernelName, BACKEND);
    // setupFunc stays: the original kernel's wasm bindings are made when the backend starts.
    tf.registerKernel({ ...original, kernelName, backendName: BACKEND, kernelFunc: factory(original) });
  }
}

/** Puts the wasm backend's own kernels back (for comparisons and tests). */
export function uninstallWasmTrainingKernels(): void {
  for (const [kernelName, original] of replaced) {
    tf.unregisterKernel(kernelName, BACKEND);
    if (original !== undefined) tf.registerKernel(original);
  }
  replaced.clear();
}
