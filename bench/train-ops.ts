import * as tf from '@tensorflow/tfjs';
import { installWasmTrainingKernels, uninstallWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../src/tf/wasm-kernels.js';
import type { KernelCall } from './kernel-profile.js';

/** One convolution layer of the network as the training step runs it. */
export interface ConvLayer {
  readonly x: readonly [number, number, number, number];
  readonly filter: readonly [number, number, number, number];
  readonly strides: number | [number, number];
  readonly pad: 'same' | 'valid';
}

/** Milliseconds are the best of a few runs, in CPU time. */
export interface ConvLayerFigures {
  readonly layer: string;
  /** Multiply-adds ×2 of one pass (forward, input gradient and filter gradient all cost the same). */
  readonly gflop: number;
  readonly forwardMs: number;
  readonly inputGradMs: number;
  readonly filterGradMs: number;
  /** The wasm backend's own input gradient, for comparison (wasm only). */
  readonly stockInputGradMs: number | null;
}

export interface ConvTotals {
  readonly forwardGflops: number;
  readonly inputGradGflops: number;
  readonly filterGradGflops: number;
  readonly stockInputGradGflops: number | null;
}

const describe = (l: ConvLayer): string =>
  `x[${l.x.join(',')}] ${l.filter[0]}×${l.filter[1]} ${l.filter[2]}→${l.filter[3]} stride ${String(l.strides)}`;

/** The distinct conv layers among recorded Conv2D calls. */
export function distinctLayers(calls: readonly KernelCall[]): ConvLayer[] {
  const seen = new Map<string, ConvLayer>();
  for (const c of calls) {
    if (c.kernel !== 'Conv2D') continue;
    const layer: ConvLayer = {
      x: c.inputShapes['x'] as ConvLayer['x'],
      filter: c.inputShapes['filter'] as ConvLayer['filter'],
      strides: c.attrs['strides'] as ConvLayer['strides'],
      pad: c.attrs['pad'] as ConvLayer['pad'],
    };
    seen.set(describe(layer), layer);
  }
  return [...seen.values()];
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Best of `reps` CPU-time measurements (the machine is shared, and CPU time suffers
 * least from that); every backend used here runs kernels synchronously.
 */
function bestMs(reps: number, run: () => tf.Tensor): number {
  tf.dispose(run());
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const start = cpuNow();
    const out = run();
    best = Math.min(best, cpuNow() - start);
    out.dispose();
  }
  return best;
}

function measureLayer(layer: ConvLayer, reps: number, compareStock: boolean): ConvLayerFigures {
  const tensors: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => (tensors.push(t), t);
  try {
    const x = keep(tf.randomUniform([...layer.x], -1, 1, 'float32', 1) as tf.Tensor4D);
    const filter = keep(tf.randomUniform([...layer.filter], -1, 1, 'float32', 2) as tf.Tensor4D);
    const y = keep(tf.conv2d(x, filter, layer.strides, layer.pad));
    const dy = keep(tf.randomUniform(y.shape, -1, 1, 'float32', 3) as tf.Tensor4D);
    const gflop = (2 * y.size * layer.filter[0] * layer.filter[1] * layer.filter[2]) / 1e9;
    const inputGrad = () => tf.conv2dTranspose(dy, filter, [...layer.x], layer.strides, layer.pad);
    const filterGrad = () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: layer.strides,
        pad: layer.pad,
        dataFormat: 'NHWC',
        filterShape: [...layer.filter],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const forwardMs = bestMs(reps, () => tf.conv2d(x, filter, layer.strides, layer.pad));
    const inputGradMs = bestMs(reps, inputGrad);
    const filterGradMs = bestMs(reps, filterGrad);
    let stockInputGradMs: number | null = null;
    if (compareStock) {
      uninstallWasmTrainingKernels();
      installWasmTrainingKernels(WASM_TRAINING_KERNELS.filter((k) => k !== 'Conv2DBackpropInput'));
      try {
        stockInputGradMs = bestMs(Math.min(reps, 2), inputGrad);
      } finally {
        uninstallWasmTrainingKernels();
        installWasmTrainingKernels();
      }
    }
    return { layer: describe(layer), gflop, forwardMs, inputGradMs, filterGradMs, stockInputGradMs };
  } finally {
    tf.dispose(tensors);
  }
}

/** Times forward, input-gradient and filter-gradient convolutions of every layer. */
export function measureConvLayers(
  layers: readonly ConvLayer[],
  reps: number,
): { layers: ConvLayerFigures[]; totals: ConvTotals } {
  const compareStock = tf.getBackend() === 'wasm';
  const figures = layers.map((l) => measureLayer(l, reps, compareStock));
  const gflop = figures.reduce((s, f) => s + f.gflop, 0);
  const rate = (pick: (f: ConvLayerFigures) => number) => gflop / (figures.reduce((s, f) => s + pick(f), 0) / 1000);
  return {
    layers: figures,
    totals: {
      forwardGflops: rate((f) => f.forwardMs),
      inputGradGflops: rate((f) => f.inputGradMs),
      filterGradGflops: rate((f) => f.filterGradMs),
      stockInputGradGflops: compareStock ? rate((f) => f.stockInputGradMs ?? 0) : null,
    },
  };
}
