import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../src/model/init.js';
import type { Model } from '../../src/model/types.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import type { Threshold } from '../../export/calibrate.js';
import { buildMetadata } from '../../export/to-onnx.js';
import type { AwnetMetadata } from '../../src/contract/model-contract.js';

/** Real Fashion-MNIST test images, NHWC in [0, 1]. */
export async function fashionTestImages(n: number): Promise<{ images: Float32Array; labels: Int32Array }> {
  const ds = await loadFashionMnist({ split: 'test', limit: n });
  return { images: ds.images, labels: ds.labels };
}

export function uniformImages(n: number, per: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n * per }, () => next());
}

/** Clean images with L∞ sign noise of size eps, clipped to [0, 1]: stand-ins for attacked ones. */
export function noisy(images: Float32Array, eps: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return images.map((v) => Math.min(1, Math.max(0, v + (next() < 0.5 ? -eps : eps))));
}

/**
 * Sets every BN's running statistics from one training-mode forward pass (the model must
 * be built with bnMomentum 0): clean rows feed BN_clean, the noisy rows BN_adv, so the two
 * BNs of each MixBN end up different and activations keep a sane scale at any depth.
 */
export function settleBatchNorm(model: Model, clean: Float32Array, n: number, seed: number): void {
  const { height, width, channels } = model.config.input;
  const adv = noisy(clean, 0.2, seed);
  tf.tidy(() => {
    const x = tf.concat([tf.tensor4d(clean, [n, height, width, channels]), tf.tensor4d(adv, [n, height, width, channels])]);
    model.forward(x as tf.Tensor4D, { training: true, cleanCount: n });
  });
}

/**
 * Moves the parameters away from their initial values (γ, β, head weights and biases), so
 * the export is checked on weights with nothing special about them: ω far from 1 and
 * different per channel and sample, P(clean) spread over (0, 1). Running statistics are
 * left to `settleBatchNorm` (then nudged by `nudgeRunningStats`), so activations keep a sane scale.
 */
export function perturb(model: Model, seed: number): void {
  const next = mulberry32(seed);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * next();
  // Signal-head inputs grow with ψ's length F: scale so tanh sees similar spreads at any width.
  const features = model.config.router.widths.reduce((a, b) => a + b, 0);
  const signalScale = 10 * Math.sqrt(56 / features);
  for (const [name, v] of model.namedVariables()) {
    const values = Float32Array.from(v.dataSync() as Float32Array);
    const leaf = name.slice(name.lastIndexOf('/') + 1);
    for (let i = 0; i < values.length; i++) {
      const x = values[i] as number;
      if (leaf === 'gamma') values[i] = x * u(0.5, 1.5);
      else if (leaf === 'beta') values[i] = x + u(-0.3, 0.3);
      else if (name.startsWith('router/signal/') && leaf === 'bias') values[i] = u(-1, 1);
      else if (name.startsWith('router/signal/') && leaf === 'kernel') values[i] = x * signalScale;
      else if (name.startsWith('router/type/') && leaf === 'bias') values[i] = x + u(-1, 1);
    }
    v.assign(tf.tensor(values, v.shape));
  }
}

/** Running statistics moved by up to ±10 %, so BN_clean and BN_adv differ by more than their data. */
export function nudgeRunningStats(model: Model, seed: number): void {
  const next = mulberry32(seed);
  for (const [name, v] of model.namedVariables()) {
    if (!/\/moving_(mean|variance)$/.test(name)) continue;
    const values = (v.dataSync() as Float32Array).map((x) => x * (0.9 + 0.2 * next()));
    v.assign(tf.tensor(values, v.shape));
  }
}

/**
 * A few Adam steps on real images: classification on clean and noisy rows, and the
 * router's type head taught clean vs noisy, so every part of the model has moved.
 */
export function trainBriefly(model: Model, images: Float32Array, labels: Int32Array, steps: number, batch: number): number[] {
  const { height, width, channels } = model.config.input;
  const per = height * width * channels;
  const optimizer = tf.train.adam(0.01);
  const losses: number[] = [];
  const total = labels.length;
  for (let s = 0; s < steps; s++) {
    const start = (s * batch) % (total - batch + 1);
    const clean = images.subarray(start * per, (start + batch) * per);
    const adv = noisy(clean, 0.1, 1000 + s);
    const y = labels.subarray(start, start + batch);
    const loss = optimizer.minimize(
      () => {
        const x = tf.concat([tf.tensor4d(clean, [batch, height, width, channels]), tf.tensor4d(adv, [batch, height, width, channels])]);
        const out = model.forward(x as tf.Tensor4D, { training: true, cleanCount: batch });
        const onehot = tf.oneHot(tf.tensor1d([...y, ...y], 'int32'), model.config.numClasses);
        let l = tf.losses.softmaxCrossEntropy(onehot, out.logits);
        if (out.typeLogits) {
          const type = tf.oneHot(tf.tensor1d([...new Array<number>(batch).fill(0), ...new Array<number>(batch).fill(1)], 'int32'), 2);
          l = tf.add(l, tf.losses.softmaxCrossEntropy(type, out.typeLogits));
        }
        return l as tf.Scalar;
      },
      true,
      model.trainableVariables(),
    );
    losses.push((loss as tf.Scalar).dataSync()[0] as number);
    loss?.dispose();
  }
  optimizer.dispose();
  return losses;
}

export function testMetadata(model: Model, threshold?: Partial<Threshold>): AwnetMetadata {
  return buildMetadata({
    config: model.config,
    name: `test-${model.config.preset}-${model.config.variant}`,
    version: '0.0.1',
    dataset: model.config.input.channels === 1 ? 'fashion-mnist' : 'cifar10',
    labels: Array.from({ length: model.config.numClasses }, (_, i) => `class-${i}`),
    threshold: { value: 0.5, targetFpr: 0.01, observedFpr: 0.01, calibrationImages: 100, ...threshold },
    calibrationSplit: 'train[validation]',
    trainingAttack: { eps: 0.1, steps: 10 },
  });
}
