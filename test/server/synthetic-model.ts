import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export interface SyntheticModelOptions {
  readonly name?: string;
  readonly channels?: 1 | 3;
  readonly height?: number;
  readonly width?: number;
  readonly labels?: readonly string[];
  readonly threshold?: number;
  /**
   * Square matrix products (size `slowSize`) chained per batch, tied to the input
   * so onnxruntime cannot fold them away: a model whose batches take a while.
   */
  readonly slowMatmuls?: number;
  readonly slowSize?: number;
  /** Leave out the `awnet` metadata entry (a broken model). */
  readonly withoutMetadata?: boolean;
  /** Replaces top-level fields of the `awnet` metadata (to make inconsistent models). */
  readonly metadata?: Record<string, unknown>;
  readonly dir?: string;
}

export const FASHION_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** A deterministic pseudo-random sequence, so the weights are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: Array.from(values) };
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function node(opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []): onnxProto.onnx.INodeProto {
  return { opType, input, output, attribute, name: output[0] ?? opType };
}

const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
const int = (name: string, v: number): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });

/**
 * A model that keeps the service's contract (docs/design.md): Conv → Relu → GlobalAveragePool
 * → Gemm logits, Softmax probabilities, and an adversarial score Sigmoid(Gemm) that is
 * above 0.5 exactly when the image's mean brightness is above 0.5 (feature 0 passes the
 * first channel through), so tests can make flagged and unflagged images at will.
 * Returns the path of the .onnx file written to a temporary directory.
 */
export function writeSyntheticModel(options: SyntheticModelOptions = {}): string {
  const channels = options.channels ?? 1;
  const height = options.height ?? 28;
  const width = options.width ?? 28;
  const labels = options.labels ?? FASHION_LABELS;
  const k = labels.length;
  const features = 8;
  const random = seeded(7);

  const conv = new Float32Array(features * channels * 9).map(() => random());
  // Feature 0: the first channel's own pixel, so after Relu and pooling it is the mean brightness.
  conv.fill(0, 0, channels * 9);
  conv[4] = 1;
  const convBias = new Float32Array(features);
  const gemm = new Float32Array(features * k).map(() => random() * 4);
  const gemmBias = new Float32Array(k).map(() => random());
  const advWeight = new Float32Array(features);
  advWeight[0] = 20;

  const nodes: onnxProto.onnx.INodeProto[] = [
    node('Conv', ['pixels', 'conv_w', 'conv_b'], ['conv'], [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3])]),
    node('Relu', ['conv'], ['relu']),
    node('GlobalAveragePool', ['relu'], ['pooled']),
    node('Flatten', ['pooled'], ['features'], [int('axis', 1)]),
    node('Gemm', ['features', 'adv_w', 'adv_b'], ['adv_logit']),
    node('Sigmoid', ['adv_logit'], ['adv_prob']),
    node('Reshape', ['adv_prob', 'flat_shape'], ['adversarial_score']),
  ];
  const initializer: onnxProto.onnx.ITensorProto[] = [
    floatTensor('conv_w', [features, channels, 3, 3], conv),
    floatTensor('conv_b', [features], convBias),
    floatTensor('gemm_w', [features, k], gemm),
    floatTensor('gemm_b', [k], gemmBias),
    floatTensor('adv_w', [features, 1], advWeight),
    floatTensor('adv_b', [1], [-10]),
    { name: 'flat_shape', dims: [1], dataType: INT64, int64Data: [-1] },
  ];

  const slow = options.slowMatmuls ?? 0;
  if (slow > 0) {
    const size = options.slowSize ?? 256;
    // Every entry 1/size keeps the repeated products bounded (the matrix is idempotent).
    initializer.push(floatTensor('slow_w', [size, size], new Float32Array(size * size).fill(1 / size)));
    initializer.push(floatTensor('zero', [], [0]));
    nodes.push(node('ReduceMean', ['pixels'], ['slow_t'], [int('keepdims', 0)]));
    nodes.push(node('Mul', ['slow_w', 'slow_t'], ['slow_0']));
    for (let i = 0; i < slow; i++) nodes.push(node('MatMul', [`slow_${i}`, 'slow_w'], [`slow_${i + 1}`]));
    nodes.push(node('ReduceSum', [`slow_${slow}`], ['slow_sum'], [int('keepdims', 0)]));
    nodes.push(node('Mul', ['slow_sum', 'zero'], ['slow_zero']));
    nodes.push(node('Gemm', ['features', 'gemm_w', 'gemm_b'], ['raw_logits']));
    nodes.push(node('Add', ['raw_logits', 'slow_zero'], ['logits']));
  } else {
    nodes.push(node('Gemm', ['features', 'gemm_w', 'gemm_b'], ['logits']));
  }
  nodes.push(node('Softmax', ['logits'], ['probabilities'], [int('axis', 1)]));

  const name = options.name ?? 'synthetic';
  // The contract's metadata schema (src/contract/model-contract.ts), so the service reads what it will really get.
  const metadata = {
    schemaVersion: 1,
    name,
    version: '3',
    dataset: 'synthetic',
    labels,
    input: { channels, height, width },
    threshold: { value: options.threshold ?? 0.5, targetFpr: 0.01, observedFpr: 0.01, calibrationImages: 100, calibrationSplit: 'synthetic' },
    trainingAttack: { norm: 'linf', eps: 0.1, steps: 10 },
    variant: 'awnet',
    preset: 'synthetic',
    router: true,
    created: '2026-01-01T00:00:00.000Z',
    producer: 'awnet-serve tests',
    ...options.metadata,
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'awnet-serve tests',
    graph: {
      name,
      node: nodes,
      initializer,
      input: [valueInfo('pixels', ['N', channels, height, width])],
      output: [valueInfo('logits', ['N', k]), valueInfo('probabilities', ['N', k]), valueInfo('adversarial_score', ['N'])],
    },
    metadataProps: options.withoutMetadata ? [] : [{ key: 'awnet', value: JSON.stringify(metadata) }],
  });
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'awnet-model-'));
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return file;
}
