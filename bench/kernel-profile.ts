import * as tf from '@tensorflow/tfjs';

/**
 * Per-kernel self time of a piece of work on the current backend: every registered
 * kernel function is wrapped with a timer; time spent in kernels a kernel calls
 * (the training kernels are built from other kernels) counts for the inner one only.
 * tf.profile counts it twice and adds a read-back per kernel.
 */

export interface KernelTime {
  readonly kernel: string;
  readonly ms: number;
  readonly calls: number;
}

export interface KernelProfile {
  /** Wall time of the work. */
  readonly wallMs: number;
  /** Sum of kernel self times; the rest is JavaScript between kernels. */
  readonly kernelMs: number;
  readonly kernels: readonly KernelTime[];
}

/** The kernel calls made by `work`, with what each received (shapes, attributes). */
export interface KernelCall {
  readonly kernel: string;
  readonly inputShapes: Readonly<Record<string, readonly number[]>>;
  readonly attrs: Readonly<Record<string, unknown>>;
}

function wrapKernels(onCall: (name: string, args: Parameters<tf.KernelFunc>[0], run: () => unknown) => unknown): () => void {
  const backend = tf.getBackend();
  const restore: (() => void)[] = [];
  for (const config of tf.getKernelsForBackend(backend)) {
    const original = config.kernelFunc;
    const wrapped = (args: Parameters<tf.KernelFunc>[0]) => onCall(config.kernelName, args, () => original(args));
    (config as { kernelFunc: tf.KernelFunc }).kernelFunc = wrapped as tf.KernelFunc;
    restore.push(() => {
      (config as { kernelFunc: tf.KernelFunc }).kernelFunc = original;
    });
  }
  return () => restore.forEach((r) => r());
}

export function profileKernels(work: () => void): KernelProfile {
  const totals = new Map<string, { ms: number; calls: number }>();
  const childTime: number[] = [];
  const unwrap = wrapKernels((name, _args, run) => {
    const start = performance.now();
    childTime.push(0);
    try {
      return run();
    } finally {
      const children = childTime.pop()!;
      const elapsed = performance.now() - start;
      if (childTime.length > 0) childTime[childTime.length - 1]! += elapsed;
      const entry = totals.get(name) ?? { ms: 0, calls: 0 };
      entry.ms += elapsed - children;
      entry.calls += 1;
      totals.set(name, entry);
    }
  });
  const start = performance.now();
  try {
    work();
  } finally {
    unwrap();
  }
  const wallMs = performance.now() - start;
  const kernels = [...totals].map(([kernel, t]) => ({ kernel, ms: t.ms, calls: t.calls })).sort((a, b) => b.ms - a.ms);
  return { wallMs, kernelMs: kernels.reduce((s, k) => s + k.ms, 0), kernels };
}

/** Records the calls `work` makes to the named kernels (only the outermost, not nested ones). */
export function recordKernelCalls(kernelNames: readonly string[], work: () => void): KernelCall[] {
  const calls: KernelCall[] = [];
  let depth = 0;
  const unwrap = wrapKernels((name, args, run) => {
    if (depth === 0 && kernelNames.includes(name)) {
      const inputShapes = Object.fromEntries(Object.entries(args.inputs).map(([k, v]) => [k, [...(v as tf.TensorInfo).shape]]));
      calls.push({ kernel: name, inputShapes, attrs: { ...args.attrs } });
    }
    depth++;
    try {
      return run();
    } finally {
      depth--;
    }
  });
  try {
    work();
  } finally {
    unwrap();
  }
  return calls;
}
