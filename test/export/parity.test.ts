import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildConfig, createModel, VARIANTS, type AwNet } from '../../src/model/index.js';
import type { ConfigOverrides } from '../../src/model/presets.js';
import type { Model, Variant } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';
import { modelToOnnx } from '../../export/to-onnx.js';
import { argmaxRows, maxAbsDiff, onnxSession, runOnnx, runTf } from './helpers.js';
import { fashionTestImages, noisy, nudgeRunningStats, perturb, settleBatchNorm, testMetadata, trainBriefly, uniformImages } from './models.js';

const TOLERANCE = 1e-4;

interface Stats {
  readonly maxProb: number;
  readonly maxScore: number;
  /** Largest |logit| and smallest top probability seen: a check that outputs are not saturated. */
  readonly maxLogit: number;
  readonly minTopProb: number;
}

function rowMax(values: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / cols; r++) out.push(Math.max(...values.subarray(r * cols, (r + 1) * cols)));
  return out;
}

function describeStats(label: string, r: Stats): void {
  console.log(
    `${label}: max |Δp| ${r.maxProb.toExponential(2)}, max |Δscore| ${r.maxScore.toExponential(2)}, ` +
      `max |logit| ${r.maxLogit.toFixed(1)}, min top p ${r.minTopProb.toFixed(3)}`,
  );
}

interface InputSet {
  readonly label: string;
  readonly images: Float32Array;
  readonly count: number;
}

/**
 * Exports `model`, runs the file in onnxruntime (CPU, all graph optimisations) and the
 * model in tfjs inference mode on every input set, and checks the contract's parity
 * bounds. Also runs the first 64 inputs at batch sizes 1 and 7 and requires exactly the
 * per-sample results of batch 64.
 */
async function checkParity(model: Model, sets: readonly InputSet[], batchCheckSize = 64): Promise<Stats> {
  const { bytes } = modelToOnnx(model, testMetadata(model));
  const session = await onnxSession(bytes);
  const k = model.config.numClasses;
  let maxProb = 0;
  let maxScore = 0;
  let maxLogit = 0;
  let minTopProb = 1;
  const scores: number[] = [];
  try {
    for (const set of sets) {
      const onnx = await runOnnx(session, set.images, set.count, model.config.input, 64);
      const ref = runTf(model, set.images, set.count);
      const dProb = maxAbsDiff(onnx.probabilities, ref.probabilities);
      const dScore = maxAbsDiff(onnx.score, ref.score);
      maxProb = Math.max(maxProb, dProb);
      maxScore = Math.max(maxScore, dScore);
      assert.ok(dProb <= TOLERANCE, `${set.label}: max |Δ probability| ${dProb}`);
      assert.ok(dScore <= TOLERANCE, `${set.label}: max |Δ adversarial_score| ${dScore}`);
      assert.deepEqual(argmaxRows(onnx.probabilities, k), argmaxRows(ref.probabilities, k), `${set.label}: argmax differs`);
      assert.deepEqual(argmaxRows(onnx.logits, k), argmaxRows(onnx.probabilities, k));
      if (model.config.variant === 'static') assert.ok(onnx.score.every((s) => s === 0), 'the static baseline scores 0');
      else assert.ok(onnx.score.every((s) => s >= 0 && s <= 1), 'router scores lie in [0, 1]');
      scores.push(...onnx.score);
      maxLogit = Math.max(maxLogit, ...onnx.logits.map(Math.abs));
      minTopProb = Math.min(minTopProb, ...rowMax(onnx.probabilities, k));

      if (set !== sets[0]) continue;
      const first = Math.min(batchCheckSize, set.count);
      const per = model.config.input.height * model.config.input.width * model.config.input.channels;
      const head = set.images.subarray(0, first * per);
      const whole = await runOnnx(session, head, first, model.config.input, first);
      for (const batch of [1, 7]) {
        const split = await runOnnx(session, head, first, model.config.input, batch);
        assert.deepEqual(split.logits, whole.logits, `${set.label}: batch ${batch} logits differ from batch ${first}`);
        assert.deepEqual(split.probabilities, whole.probabilities, `${set.label}: batch ${batch} probabilities differ`);
        assert.deepEqual(split.score, whole.score, `${set.label}: batch ${batch} scores differ`);
      }
    }
  } finally {
    await session.release();
  }
  // The comparison means something only if outputs are not saturated and the router's
  // score moves with the input.
  assert.ok(minTopProb < 0.99, `some predictions are uncertain (smallest top probability ${minTopProb})`);
  if (model.config.variant !== 'static') {
    assert.ok(Math.max(...scores) - Math.min(...scores) > 0.05, 'router scores vary between inputs');
  }
  return { maxProb, maxScore, maxLogit, minTopProb };
}

function freshModel(preset: string, variant: Variant, seed: number, overrides: ConfigOverrides, settle: Float32Array, n: number): AwNet {
  const model = createModel(buildConfig(preset, variant, { ...overrides, bnMomentum: 0 }), seed);
  perturb(model, seed + 1);
  settleBatchNorm(model, settle, n, seed);
  nudgeRunningStats(model, seed + 2);
  return model;
}

let fashion: { images: Float32Array; labels: Int32Array };

before(async () => {
  await initBackend({ backend: 'wasm', log: () => undefined });
  fashion = await fashionTestImages(512);
});

describe('fmnist-tiny', () => {
  for (const variant of VARIANTS) {
    test(`${variant}: 256 Fashion-MNIST test images and 256 random inputs match tfjs`, async () => {
      const settle = fashion.images.subarray(256 * 784, 320 * 784);
      const model = freshModel('fmnist-tiny', variant, 11, {}, settle, 64);
      try {
        const r = await checkParity(model, [
          { label: 'fashion-mnist', images: fashion.images.subarray(0, 256 * 784), count: 256 },
          { label: 'random', images: uniformImages(256, 784, 5), count: 256 },
        ]);
        describeStats(`fmnist-tiny ${variant}`, r);
      } finally {
        model.dispose();
      }
    });
  }

  test('awnet trained a few steps on real images still matches', async () => {
    const model = createModel(buildConfig('fmnist-tiny', 'awnet', { bnMomentum: 0.5 }), 21);
    try {
      const losses = trainBriefly(model, fashion.images.subarray(256 * 784), fashion.labels.subarray(256), 8, 16);
      assert.ok((losses.at(-1) as number) < (losses[0] as number), `training lowered the loss: ${losses.join(', ')}`);
      const clean = fashion.images.subarray(0, 256 * 784);
      const r = await checkParity(model, [
        { label: 'fashion-mnist', images: clean, count: 256 },
        { label: 'fashion-mnist + sign noise', images: noisy(clean.subarray(0, 128 * 784), 0.1, 77), count: 128 },
        { label: 'random', images: uniformImages(128, 784, 6), count: 128 },
      ]);
      describeStats('fmnist-tiny awnet trained', r);
    } finally {
      model.dispose();
    }
  });
});

describe('router hold', () => {
  const images = (): Float32Array => fashion.images.subarray(0, 256 * 784);
  const settle = (): Float32Array => fashion.images.subarray(256 * 784, 320 * 784);

  /** The median router P(clean) and the largest |ω − 1| of the free model on the test images. */
  function routerSpread(model: AwNet): { medianPClean: number; maxOmegaShift: number } {
    const x = tf.tensor4d(images(), [256, 28, 28, 1]);
    const routed = model.route(x);
    x.dispose();
    assert.ok(routed, 'an awnet has a router');
    const p = [...(routed.pClean.dataSync() as Float32Array)].sort((a, b) => a - b);
    const shift = Math.max(...routed.omegas.map((o) => Math.max(...(o.dataSync() as Float32Array).map((w) => Math.abs(w - 1)))));
    tf.dispose([routed.pClean, routed.typeLogits, routed.psi, ...routed.omegas]);
    return { medianPClean: p[128] as number, maxOmegaShift: shift };
  }

  test('a P(clean) cap and an ω bound that bind on half the images: ONNX matches tfjs, the score stays the router\'s own', async () => {
    const free = freshModel('fmnist-tiny', 'awnet', 11, {}, settle(), 64) as AwNet;
    const { medianPClean, maxOmegaShift } = routerSpread(free);
    assert.ok(maxOmegaShift > 0.01, `ω moves away from 1 (largest shift ${maxOmegaShift})`);
    const hold = { pCleanCap: medianPClean, omegaBound: maxOmegaShift / 2 };
    const held = freshModel('fmnist-tiny', 'awnet', 11, { hold }, settle(), 64);
    try {
      assert.deepEqual(held.config.hold, hold);
      const r = await checkParity(held, [
        { label: 'fashion-mnist', images: images(), count: 256 },
        { label: 'random', images: uniformImages(256, 784, 5), count: 256 },
      ]);
      describeStats('fmnist-tiny awnet held', r);
      const a = runTf(free, images(), 256);
      const b = runTf(held, images(), 256);
      assert.deepEqual(b.score, a.score, 'the hold leaves the adversarial score alone');
      assert.ok(maxAbsDiff(a.probabilities, b.probabilities) > 1e-3, 'the hold changes the classification');
      const meta = testMetadata(held);
      assert.deepEqual(meta.routerHold, hold, 'the metadata records the hold');
    } finally {
      free.dispose();
      held.dispose();
    }
  });

  test('a cap of 1 and no bound export the same graph as no hold', () => {
    const free = freshModel('fmnist-tiny', 'awnet', 12, {}, settle(), 64);
    const held = freshModel('fmnist-tiny', 'awnet', 12, { hold: { pCleanCap: 1, omegaBound: null } }, settle(), 64);
    try {
      const ops = (m: Model): string[] => modelToOnnx(m, testMetadata(m)).opTypes.slice();
      assert.deepEqual(ops(held), ops(free));
      assert.ok(!ops(held).includes('Min'));
    } finally {
      free.dispose();
      held.dispose();
    }
  });
});

describe('cifar10-resnet18', () => {
  // The preset's depth (ResNet-18, [2, 2, 2, 2] blocks, for both sub-networks) with widths
  // divided by 8, so 256 inputs per variant stay quick on a CPU.
  const narrow: ConfigOverrides = {
    main: { stem: 8, widths: [8, 16, 32, 64] },
    router: { stem: 8, widths: [8, 16, 32, 64] },
  };
  for (const variant of VARIANTS) {
    test(`${variant} (widths ÷ 8): 256 random inputs match tfjs`, async () => {
      const model = freshModel('cifar10-resnet18', variant, 31, narrow, uniformImages(32, 3072, 7), 32);
      try {
        const r = await checkParity(model, [{ label: 'random', images: uniformImages(256, 3072, 8), count: 256 }]);
        describeStats(`cifar10-resnet18/8 ${variant}`, r);
      } finally {
        model.dispose();
      }
    });
  }

  test('awnet at full width: 16 random inputs match tfjs', async () => {
    const model = freshModel('cifar10-resnet18', 'awnet', 41, {}, uniformImages(8, 3072, 9), 8);
    try {
      const r = await checkParity(model, [{ label: 'random', images: uniformImages(16, 3072, 10), count: 16 }], 16);
      describeStats(`cifar10-resnet18 awnet`, r);
    } finally {
      model.dispose();
    }
  });
});
