import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, GraphBuilder, IR_VERSION } from '../../export/onnx-graph.js';

test('a small graph runs in onnxruntime and computes what it says', async () => {
  const g = new GraphBuilder('tiny');
  const x = g.input('x', ['N', 3]);
  const w = g.floats('w', [1, 2, 3, 4, 5, 6], [3, 2]);
  const b = g.floats('b', [0.5, -100], [2]);
  const y = g.opNamed('Relu', [g.op('Gemm', [x, w, b])], 'y');
  const shape = g.op('Shape', [x]);
  const n = g.op('Slice', [shape, g.int64s('starts', [0]), g.int64s('ends', [1])]);
  const zeros = g.opNamed('ConstantOfShape', [n], 'zeros', { value: { t: { dims: [1], float32: new Float32Array([0]) } } });
  const s = g.opNamed('Softmax', [y], 'soft', { axis: 1 });
  g.output(y, ['N', 2]);
  g.output(zeros, ['N']);
  g.output(s, ['N', 2]);
  assert.deepEqual(g.opTypes(), ['ConstantOfShape', 'Gemm', 'Relu', 'Shape', 'Slice', 'Softmax']);

  const bytes = encodeModel(g.toModel({ metadata: { awnet: '{"a":1}' } }));
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  const input = new ort.Tensor('float32', Float32Array.from([1, 0, 0, 0, 1, 1]), [2, 3]);
  const out = await session.run({ x: input });
  // Row 0: [1, 2] + [0.5, −100] → relu → [1.5, 0]; row 1: [3+5, 4+6] + b → [8.5, 0].
  assert.deepEqual([...(out.y?.data as Float32Array)], [1.5, 0, 8.5, 0]);
  assert.deepEqual([...(out.zeros?.data as Float32Array)], [0, 0]);
  assert.deepEqual(out.zeros?.dims, [2]);
  const soft = out.soft?.data as Float32Array;
  assert.ok(Math.abs((soft[0] as number) - 1 / (1 + Math.exp(-1.5))) < 1e-6);
  await session.release();
});

test('models carry IR version, opset, metadata and a dynamic batch dimension through encode/decode', () => {
  const g = new GraphBuilder('meta');
  const x = g.input('x', ['N', 4]);
  g.output(g.opNamed('Relu', [x], 'y'), ['N', 4]);
  const decoded = decodeModel(encodeModel(g.toModel({ opset: 18, metadata: { awnet: '{"k":"v"}', other: 'x' } })));
  assert.equal(Number(decoded.irVersion), IR_VERSION);
  assert.deepEqual(decoded.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 18]]);
  assert.deepEqual(decoded.metadataProps.map((p) => [p.key, p.value]), [['awnet', '{"k":"v"}'], ['other', 'x']]);
  const dims = decoded.graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
  assert.equal(dims[0]?.dimParam, 'N');
  assert.equal(Number(dims[1]?.dimValue), 4);
});

test('wiring mistakes fail at build time with the tensor name', () => {
  const g = new GraphBuilder('bad');
  const x = g.input('x', ['N', 4]);
  assert.throws(() => g.op('Relu', ['nope']), /input nope is not defined/);
  assert.throws(() => g.input('x', [1]), /defined twice/);
  assert.throws(() => g.output('missing', [1]), /not produced/);
  assert.throws(() => g.op('Flatten', [x], { axis: 1.5 }), /not an integer/);
  assert.throws(() => g.floats('w', [1, 2, 3], [2, 2]), /3 values for dims \[2, 2\]/);
  assert.throws(() => new GraphBuilder('empty').toModel(), /no outputs/);
  // Fresh names never collide with exact ones.
  g.opNamed('Relu', [x], 'relu');
  assert.notEqual(g.op('Relu', [x]), 'relu');
});

test('float32 initializers keep their exact bit patterns', async () => {
  const values = Float32Array.from([Math.PI, -0, 1e-38, 3.4e38, -1.17549435e-38, 0.1]);
  const g = new GraphBuilder('bits');
  const x = g.input('x', [6]);
  g.output(g.opNamed('Add', [x, g.floats('c', values, [6])], 'y'), [6]);
  const session = await ort.InferenceSession.create(encodeModel(g.toModel()));
  const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(6), [6]) });
  assert.deepEqual([...(out.y?.data as Float32Array)], [...values].map((v) => v + 0));
  await session.release();
});
