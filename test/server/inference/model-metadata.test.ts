import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { metadataProblems } from '../../../src/contract/model-contract.js';
import { ModelFileError, readModelMetadata } from '../../../src/server/inference/model-metadata.js';
import { DEFAULT_MODEL_FILES } from '../../../src/server/config.js';
import { repoRoot } from '../../../src/server/repo-root.js';
import { startServer } from '../helpers.js';
import { FASHION_LABELS, writeSyntheticModel } from '../synthetic-model.js';

const SHIPPED = DEFAULT_MODEL_FILES.map((f) => path.join(repoRoot(), f));

describe('model metadata', () => {
  it('reads labels, input shape, threshold and version; the name is the file name', async () => {
    const file = writeSyntheticModel({ name: 'fmnist-like', threshold: 0.37 });
    const meta = await readModelMetadata(file);
    assert.equal(meta.name, 'fmnist-like');
    assert.equal(meta.version, '3');
    assert.deepEqual(meta.labels, FASHION_LABELS);
    assert.deepEqual(meta.input, { channels: 1, height: 28, width: 28 });
    assert.equal(meta.threshold, 0.37);
    assert.equal(meta.raw['dataset'], 'synthetic');
  });

  it("the test models carry metadata the exporter's own schema accepts", () => {
    const file = writeSyntheticModel();
    const model = onnxProto.onnx.ModelProto.decode(readFileSync(file));
    const json = model.metadataProps.find((p) => p.key === 'awnet')?.value;
    assert.ok(json);
    assert.deepEqual(metadataProblems(JSON.parse(json)), []);
  });

  const refuses = async (file: string, pattern: RegExp) =>
    assert.rejects(readModelMetadata(file), (e: Error) => e instanceof ModelFileError && pattern.test(e.message) && e.message.startsWith(file));

  it('refuses files that break the contract, naming the file and the problem', async () => {
    await refuses(writeSyntheticModel({ withoutMetadata: true }), /no 'awnet' entry/);
    await refuses(writeSyntheticModel({ metadata: { labels: ['only'] } }), /labels/);
    await refuses(writeSyntheticModel({ metadata: { labels: ['a', 'b', 'c'] } }), /logits have 10 classes but metadata lists 3 labels/);
    await refuses(writeSyntheticModel({ metadata: { input: { channels: 3, height: 28, width: 28 } } }), /graph input 'pixels' is \[N, 1, 28, 28\], metadata says C=3/);
    await refuses(writeSyntheticModel({ metadata: { input: { channels: 2, height: 28, width: 28 } } }), /breaks the contract: \/input\/channels/);
    await refuses(writeSyntheticModel({ metadata: { threshold: 0.5 } }), /\/threshold: Expected object/);
    const calibrated = { targetFpr: 0.01, observedFpr: 0.01, calibrationImages: 100, calibrationSplit: 'x' };
    await refuses(writeSyntheticModel({ metadata: { threshold: { value: 1.5, ...calibrated } } }), /\/threshold\/value: /);
    const garbage = path.join(path.dirname(writeSyntheticModel()), 'garbage.onnx');
    writeFileSync(garbage, Buffer.from('definitely not protobuf \xff\xff\xff\xff'));
    await refuses(garbage, /not a readable ONNX model|no 'awnet' entry/);
  });

  it('refuses exactly what the schema refuses: a numeric version, an unknown field', async () => {
    for (const metadata of [{ version: 3 }, { version: '' }, { comment: 'extra' }, { schemaVersion: 2 }]) {
      const file = writeSyntheticModel({ metadata });
      const json = onnxProto.onnx.ModelProto.decode(readFileSync(file)).metadataProps[0]!.value!;
      assert.notDeepEqual(metadataProblems(JSON.parse(json)), [], JSON.stringify(metadata));
      await refuses(file, /metadata 'awnet' breaks the contract: /);
    }
  });

  it('every shipped model keeps the contract', async () => {
    for (const file of SHIPPED) {
      const meta = await readModelMetadata(file);
      assert.match(meta.version, /^\d+\.\d+\.\d+$/, file);
    }
  });

  it('a service given such a file does not start, and says why', async () => {
    const broken = writeSyntheticModel({ name: 'broken', withoutMetadata: true });
    await assert.rejects(startServer([broken]), /broken\.onnx: no 'awnet' entry/);
    const result = spawnSync(process.execPath, [path.join(repoRoot(), 'dist/src/main.js')], {
      env: { ...process.env, AWNET_MODELS: broken, AWNET_PORT: '0', AWNET_EXECUTION_PROVIDERS: 'cpu' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /could not start: .*broken\.onnx: no 'awnet' entry in metadata_props/);
  });
});
