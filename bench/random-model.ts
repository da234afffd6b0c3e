import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildMetadata, modelToOnnx } from '../export/to-onnx.js';
import { CIFAR10_LABELS } from '../src/data/cifar10.js';
import { FASHION_MNIST_LABELS } from '../src/data/fashion-mnist.js';
import { buildConfig, createModel } from '../src/model/index.js';
import { initBackend } from '../src/tf/backend.js';

/**
 * An AW-Net of a preset with its initial (seeded, random) weights, exported to ONNX as
 * `export` would export a trained one. Speed does not depend on the weights, so this
 * measures what a trained model of that size would cost to serve without training it.
 */
export async function writeRandomModel(preset: string, dir: string, seed = 1): Promise<string> {
  await initBackend();
  const config = buildConfig(preset, 'awnet');
  const model = createModel(config, seed);
  const cifar = config.input.channels === 3;
  const name = `${preset}-random`;
  try {
    const metadata = buildMetadata({
      config,
      name,
      version: '0.0.0',
      dataset: cifar ? 'cifar10' : 'fashion-mnist',
      labels: cifar ? CIFAR10_LABELS : FASHION_MNIST_LABELS,
      // Not calibrated: the flagging threshold plays no part in speed.
      threshold: { value: 0.5, targetFpr: 0.01, observedFpr: 0, calibrationImages: 1 },
      calibrationSplit: 'none (random weights, for benchmarks)',
      trainingAttack: { eps: 0, steps: 0 },
    });
    const { bytes } = modelToOnnx(model, metadata);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${name}.onnx`);
    await writeFile(file, bytes);
    return file;
  } finally {
    model.dispose();
  }
}
