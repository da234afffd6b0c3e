import * as tf from '@tensorflow/tfjs';

/**
 * Per-kernel self time of a piece of work on the current backend: every registered
 * kernel function is wrapped with a timer; time spent in kernels a kernel calls
 * (the training kernels are built from other kernels) counts for the inner one only.
 * tf.profile counts it twice and adds a read-back per kernel.
 */

export interface KernelTime {
  readonly kernel: string;
  /** Self wall time. */
  readonly ms: number;
  /** Self CPU time of the process (the machine is shared: this is the steadier figure). */
  readonly cpuMs: number;
  readonly calls: number;
}

export interface KernelProfile {
  /** Wall and CPU time of the work. */
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Sums of kernel self times; the rest is JavaScript between kernels. */
  readonly kernelMs: number;
  readonly kernelCpuMs: number;
  readonly kernels: readonly KernelTime[];
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

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
  const totals = new Map<string, { ms: number; cpuMs: number; calls: number }>();
  const children: { ms: number; cpuMs: number }[] = [];
  const unwrap = wrapKernels((name, _args, run) => {
    const start = performance.now();
    const cpuStart = cpuNow();
    children.push({ ms: 0, cpuMs: 0 });
    try {
      return run();
    } finally {
      const inner = children.pop()!;
      const ms = performance.now() - start;
      const cpuMs = cpuNow() - cpuStart;
      const parent = children[children.length - 1];
      if (parent !== undefined) {
        parent.ms += ms;
        parent.cpuMs += cpuMs;
      }
      const entry = totals.get(name) ?? { ms: 0, cpuMs: 0, calls: 0 };
      entry.ms += ms - inner.ms;
      entry.cpuMs += cpuMs - inner.cpuMs;
      entry.calls += 1;
      totals.set(name, entry);
    }
  });
  const start = performance.now();
  const cpuStart = cpuNow();
  try {
    work();
  } finally {
    unwrap();
  }
  const wallMs = performance.now() - start;
  const cpuMs = cpuNow() - cpuStart;
  const kernels = [...totals].map(([kernel, t]) => ({ kernel, ...t })).sort((a, b) => b.cpuMs - a.cpuMs);
  const sum = (pick: (k: KernelTime) => number) => kernels.reduce((s, k) => s + pick(k), 0);
  return { wallMs, cpuMs, kernelMs: sum((k) => k.ms), kernelCpuMs: sum((k) => k.cpuMs), kernels };
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
