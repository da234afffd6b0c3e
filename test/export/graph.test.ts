import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildConfig, createModel, VARIANTS } from '../../src/model/index.js';
import type { Model } from '../../src/model/types.js';
import { buildModelGraph, samePadding } from '../../export/awnet-graph.js';
import { METADATA_KEY, parseMetadata } from '../../src/contract/model-contract.js';
import { decodeModel, type ValueInfo } from '../../export/onnx-graph.js';
import { modelToOnnx } from '../../export/to-onnx.js';
import { Weights, type WeightArray } from '../../export/weights.js';
import { onnxSession } from './helpers.js';
import { testMetadata } from './models.js';

/**
 * Every operator the exporter may emit: all in the default ONNX domain, all implemented by
 * onnxruntime's CPU and CUDA execution providers.
 */
const ALLOWED_OPS = new Set([
  'Add',
  'Clip',
  'Concat',
  'ConstantOfShape',
  'Conv',
  'Flatten',
  'Gemm',
  'GlobalAveragePool',
  'Mul',
  'Pow',
  'Relu',
  'Shape',
  'Slice',
  'Softmax',
  'Squeeze',
  'Sub',
  'Tanh',
  'Unsqueeze',
]);

const small = { main: { stem: 4, widths: [4, 8] }, router: { stem: 4, widths: [4, 8] } };

before(async () => {
  await tf.setBackend('cpu');
});

function withModel<T>(preset: string, variant: (typeof VARIANTS)[number], fn: (m: Model) => T): T {
  const model = createModel(buildConfig(preset, variant, preset === 'fmnist-tiny' ? {} : small), 1);
  try {
    return fn(model);
  } finally {
    model.dispose();
  }
}

for (const preset of ['fmnist-tiny', 'cifar10-resnet18']) {
  for (const variant of VARIANTS) {
    test(`${preset} ${variant}: standard operators only, opset 17, the contract's inputs and outputs`, async () => {
      const { bytes, opTypes } = withModel(preset, variant, (m) => modelToOnnx(m, testMetadata(m)));
      const decoded = decodeModel(bytes);
      const graph = decoded.graph!;
      const used = new Set(graph.node!.map((n) => n.opType!));
      for (const op of used) assert.ok(ALLOWED_OPS.has(op), `operator ${op} is not in the allowed list`);
      assert.deepEqual([...used].sort(), [...opTypes]);
      assert.ok(graph.node!.every((n) => !n.domain), 'every node is in the default ONNX domain');
      assert.deepEqual(decoded.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]), [['', 17]]);
      // Dynamic parts appear only where the variant has them.
      assert.equal(used.has('Tanh'), variant !== 'static');
      assert.equal(used.has('ConstantOfShape'), variant === 'static');

      const dims = (v: ValueInfo): (string | number)[] =>
        v.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
      const c = preset === 'fmnist-tiny' ? 1 : 3;
      const hw = preset === 'fmnist-tiny' ? 28 : 32;
      assert.deepEqual(graph.input!.map((i) => [i.name, dims(i)]), [['pixels', ['N', c, hw, hw]]]);
      assert.deepEqual(
        graph.output!.map((o) => [o.name, dims(o)]),
        [
          ['logits', ['N', 10]],
          ['probabilities', ['N', 10]],
          ['adversarial_score', ['N']],
        ],
      );
      for (const v of [...graph.input!, ...graph.output!]) assert.equal(v.type!.tensorType!.elemType, 1, `${v.name} is float32`);

      const meta = parseMetadata(decoded.metadataProps.find((p) => p.key === METADATA_KEY)!.value!);
      assert.equal(meta.variant, variant);
      assert.equal(meta.preset, preset);
      assert.equal(meta.router, variant !== 'static');
      assert.deepEqual(meta.input, { channels: c, height: hw, width: hw });

      // onnxruntime accepts the file and reports the same signature.
      const session = await onnxSession(bytes);
      assert.deepEqual(session.inputNames, ['pixels']);
      assert.deepEqual(session.outputNames, ['logits', 'probabilities', 'adversarial_score']);
      await session.release();
    });
  }
}

test('TensorFlow "same" padding puts the odd pixel after, as tfjs does', () => {
  assert.deepEqual(samePadding(28, 3, 1), { before: 1, after: 1, out: 28 });
  assert.deepEqual(samePadding(28, 3, 2), { before: 0, after: 1, out: 14 });
  assert.deepEqual(samePadding(7, 3, 2), { before: 1, after: 1, out: 4 });
  assert.deepEqual(samePadding(14, 1, 2), { before: 0, after: 0, out: 7 });
  assert.deepEqual(samePadding(32, 3, 2), { before: 0, after: 1, out: 16 });
});

function weightsOf(model: Model, edit: (m: Map<string, WeightArray>) => void): Weights {
  const arrays = new Map<string, WeightArray>();
  for (const [name, v] of model.namedVariables()) arrays.set(name, { shape: [...v.shape], values: Float32Array.from(v.dataSync()) });
  edit(arrays);
  return new Weights(arrays);
}

test('variables that do not fit the configuration fail with their names', () => {
  withModel('fmnist-tiny', 'awnet', (model) => {
    const missing = weightsOf(model, (m) => m.delete('main/stage2/block0/bn1/adv/moving_variance'));
    assert.throws(() => buildModelGraph(model.config, missing, 'g'), {
      code: 'EXPORT_MISSING_VARIABLE',
      message: /main\/stage2\/block0\/bn1\/adv\/moving_variance/,
    });
    const reshaped = weightsOf(model, (m) => m.set('router/signal/2/bias', { shape: [3], values: new Float32Array(3) }));
    assert.throws(() => buildModelGraph(model.config, reshaped, 'g'), {
      code: 'EXPORT_BAD_VARIABLE_SHAPE',
      message: /router\/signal\/2\/bias has shape \[3\], expected \[32\]/,
    });
    const extra = weightsOf(model, (m) => m.set('main/extra/kernel', { shape: [1], values: new Float32Array(1) }));
    assert.throws(() => buildModelGraph(model.config, extra, 'g'), { code: 'EXPORT_CHECKPOINT_INVALID', message: /main\/extra\/kernel/ });
  });
});

test('mixbn-single-bn leaves exactly the BN_adv variables out; awnet uses every variable', () => {
  withModel('fmnist-tiny', 'mixbn-single-bn', (model) => {
    const weights = Weights.fromVariables(model.namedVariables());
    buildModelGraph(model.config, weights, 'g');
    const unused = weights.unused();
    assert.ok(unused.length > 0 && unused.every((n) => n.includes('/adv/')), unused.join(', '));
    const advCount = [...model.namedVariables().keys()].filter((n) => n.includes('/adv/')).length;
    assert.equal(unused.length, advCount);
  });
  withModel('fmnist-tiny', 'awnet', (model) => {
    const weights = Weights.fromVariables(model.namedVariables());
    buildModelGraph(model.config, weights, 'g');
    assert.deepEqual(weights.unused(), []);
  });
});

test("a training-only predictor head (AR-AT) stays out of the graph and is the only thing left unused", () => {
  const model = createModel(buildConfig('fmnist-tiny', 'awnet', { predictor: 16 }), 1);
  try {
    const weights = Weights.fromVariables(model.namedVariables());
    buildModelGraph(model.config, weights, 'g');
    assert.deepEqual(weights.unused().sort(), ['predictor/fc1/bias', 'predictor/fc1/kernel', 'predictor/fc2/bias', 'predictor/fc2/kernel']);
  } finally {
    model.dispose();
  }
});
