import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildMetadata, modelToOnnx } from '../../../export/to-onnx.js';
import { FASHION_MNIST_LABELS } from '../../../src/data/fashion-mnist.js';
import { createModel } from '../../../src/model/awnet.js';
import { buildConfig } from '../../../src/model/presets.js';
import type { Variant } from '../../../src/model/types.js';

/**
 * A freshly initialised `fmnist-tiny` model written by the project's own exporter:
 * the real graph (dynamic convolutions, MixBN, router) with untrained weights. Its
 * cost per image is the shipped model's; its answers are not meaningful.
 */
export function writeExportedModel(options: { variant?: Variant; name?: string; dir?: string } = {}): string {
  const variant = options.variant ?? 'awnet';
  const name = options.name ?? `fmnist-tiny-${variant}-untrained`;
  const config = buildConfig('fmnist-tiny', variant);
  const model = createModel(config, 1);
  try {
    const metadata = buildMetadata({
      config,
      name,
      version: '0.0.0-untrained',
      dataset: 'fashion-mnist',
      labels: FASHION_MNIST_LABELS,
      threshold: { value: 0.5, targetFpr: 0.01, observedFpr: 0.01, calibrationImages: 1 },
      calibrationSplit: 'none (untrained)',
      trainingAttack: { eps: 0.1, steps: 0 },
    });
    const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'awnet-exported-'));
    const file = path.join(dir, `${name}.onnx`);
    writeFileSync(file, modelToOnnx(model, metadata).bytes);
    return file;
  } finally {
    model.dispose();
  }
}
