import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { architecture, listDynamicConvs, networkConvs } from '../../src/model/architecture.js';
import { createModel } from '../../src/model/awnet.js';
import { ModelError } from '../../src/model/errors.js';
import { buildConfig, PRESET_NAMES, validateConfig } from '../../src/model/presets.js';
import type { ArchConfig } from '../../src/model/types.js';
import { images, useCpuBackend } from './helpers.js';

const shapeOf = (m: ReturnType<typeof createModel>, name: string): number[] => {
  const v = m.namedVariables().get(name);
  assert.ok(v, `variable ${name} exists`);
  return v.shape;
};

const count = (m: ReturnType<typeof createModel>, names: RegExp): number =>
  [...m.namedVariables()].filter(([n, v]) => names.test(n) && v.trainable).reduce((s, [, v]) => s + v.size, 0);

describe('presets', () => {
  before(useCpuBackend);

  it('lists both presets', () => {
    assert.deepEqual([...PRESET_NAMES].sort(), ['cifar10-resnet18', 'fmnist-tiny']);
  });

  it('fmnist-tiny: 28×28×1 in, 10 classes out, widths 16/32/64 and a half-width router', () => {
    const config = buildConfig('fmnist-tiny');
    assert.equal(config.variant, 'awnet');
    assert.deepEqual(config.input, { height: 28, width: 28, channels: 1 });
    assert.deepEqual(config.main, { stem: 16, widths: [16, 32, 64], blocks: [1, 1, 1], strides: [1, 2, 2] });
    assert.deepEqual(config.router.widths, [8, 16, 32]);
    assert.equal(config.beta, 3);
    const m = createModel(config, 1);
    const out = m.forward(images(config, 3, 1), { training: false });
    assert.deepEqual(out.logits.shape, [3, 10]);
    assert.deepEqual(out.typeLogits!.shape, [3, 2]);
    assert.deepEqual(out.pClean!.shape, [3]);
    assert.deepEqual(shapeOf(m, 'main/stem/conv/kernel'), [3, 3, 1, 16]);
    assert.deepEqual(shapeOf(m, 'main/stage2/block0/conv1/kernel'), [3, 3, 16, 32]);
    assert.deepEqual(shapeOf(m, 'main/stage2/block0/shortcut/conv/kernel'), [1, 1, 16, 32]);
    assert.deepEqual(shapeOf(m, 'main/stage3/block0/bn2/adv/moving_variance'), [64]);
    assert.deepEqual(shapeOf(m, 'main/classifier/kernel'), [64, 10]);
    assert.deepEqual(shapeOf(m, 'router/type/kernel'), [56, 2]);
    const dyn = listDynamicConvs(config);
    assert.deepEqual(
      dyn.map((d) => [d.name, d.outChannels, d.stride]),
      [
        ['main/stage1/block0/conv1', 16, 1],
        ['main/stage1/block0/conv2', 16, 1],
        ['main/stage2/block0/conv1', 32, 2],
        ['main/stage2/block0/conv2', 32, 1],
        ['main/stage3/block0/conv1', 64, 2],
        ['main/stage3/block0/conv2', 64, 1],
      ],
    );
    dyn.forEach((d, j) => assert.deepEqual(shapeOf(m, `router/signal/${j}/kernel`), [56, d.outChannels]));
    // Every variable follows the documented naming scheme.
    const scheme =
      /^(main|router)\/(stem|stage\d+\/block\d+(\/shortcut)?)\/(conv\d?\/kernel|bn\d?\/((clean|adv)\/)?(gamma|beta|moving_mean|moving_variance))$|^main\/classifier\/(kernel|bias)$|^router\/(type|signal\/\d+)\/(kernel|bias)$/;
    for (const name of m.namedVariables().keys()) assert.match(name, scheme);
    m.dispose();
  });

  it('cifar10-resnet18: ResNet-18 for both sub-networks, 32×32×3 in, 10 classes', () => {
    const config = buildConfig('cifar10-resnet18', 'awnet');
    assert.deepEqual(config.input, { height: 32, width: 32, channels: 3 });
    for (const net of [config.main, config.router]) {
      assert.deepEqual(net, { stem: 64, widths: [64, 128, 256, 512], blocks: [2, 2, 2, 2], strides: [1, 2, 2, 2] });
    }
    const spec = architecture(config);
    assert.equal(spec.dynamicConvs.length, 16);
    assert.equal(networkConvs(spec.main).length, 1 + 16 + 3);
    assert.equal(spec.router!.featureSize, 960);
    // The static baseline is the standard CIFAR ResNet-18: 11,173,962 parameters.
    const baseline = createModel(buildConfig('cifar10-resnet18', 'static'), 1);
    assert.equal(count(baseline, /^main\//), 11_173_962);
    const out = baseline.forward(images(config, 1, 1), { training: false });
    assert.deepEqual(out.logits.shape, [1, 10]);
    baseline.dispose();
  });

  it('widths, depths, strides, β and momentum can be overridden', () => {
    const config = buildConfig('fmnist-tiny', 'dynamic-only', {
      main: { widths: [8, 16] },
      router: { stem: 4, widths: [4, 8, 8, 8], blocks: [2, 1, 1, 1] },
      beta: 2,
      bnMomentum: 0.5,
    });
    assert.deepEqual(config.main, { stem: 16, widths: [8, 16], blocks: [1, 1], strides: [1, 2] });
    assert.deepEqual(config.router, { stem: 4, widths: [4, 8, 8, 8], blocks: [2, 1, 1, 1], strides: [1, 2, 2, 2] });
    assert.equal(config.beta, 2);
    assert.equal(config.bnMomentum, 0.5);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.main.widths));
    const m = createModel(config, 1);
    assert.deepEqual(m.forward(images(config, 2, 3), { training: false }).logits.shape, [2, 10]);
    assert.equal(m.spec.router!.featureSize, 28);
    m.dispose();
  });

  it('bad presets and configurations give clear errors with stable codes', () => {
    const bad = (fn: () => unknown, code: string, re: RegExp): void =>
      assert.throws(fn, (e: unknown) => e instanceof ModelError && e.code === code && re.test(e.message));
    bad(() => buildConfig('mnist-huge'), 'MODEL_UNKNOWN_PRESET', /"mnist-huge".*fmnist-tiny, cifar10-resnet18/);
    bad(() => buildConfig('fmnist-tiny', 'dynamic' as never), 'MODEL_BAD_CONFIG', /unknown variant "dynamic"; valid variants: static, dynamic-only/);
    bad(() => buildConfig('fmnist-tiny', 'awnet', { main: { widths: [16, 0, 64] } }), 'MODEL_BAD_CONFIG', /main: widths\[1\].*got 0/);
    bad(() => buildConfig('fmnist-tiny', 'awnet', { router: { blocks: [1, 1] } }), 'MODEL_BAD_CONFIG', /router: blocks must have one entry per stage \(3\)/);
    bad(() => buildConfig('fmnist-tiny', 'awnet', { main: { strides: [1, 3, 2] } }), 'MODEL_BAD_CONFIG', /strides\[1\] must be 1 or 2, got 3/);
    bad(() => buildConfig('fmnist-tiny', 'awnet', { beta: 0 }), 'MODEL_BAD_CONFIG', /beta must be a number in \[0.5, 16\], got 0/);
    bad(() => buildConfig('fmnist-tiny', 'awnet', { bnMomentum: 1 }), 'MODEL_BAD_CONFIG', /bnMomentum/);
    const config = buildConfig('fmnist-tiny');
    bad(() => validateConfig({ ...config, input: { ...config.input, channels: 2 } } as unknown as ArchConfig), 'MODEL_BAD_CONFIG', /channels must be 1 or 3, got 2/);
    bad(() => validateConfig({ ...config, normalization: { mean: [0.5], std: [0] } }), 'MODEL_BAD_CONFIG', /std must be positive/);
  });
});
