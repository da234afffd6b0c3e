import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { buildConfig, createModel, loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../../src/model/index.js';
import type { Variant } from '../../src/model/types.js';
import { initBackend } from '../../src/tf/backend.js';
import { parseMetadata, type AwnetMetadata } from '../../src/contract/model-contract.js';
import { runCli } from '../train/helpers.js';
import { maxAbsDiff, onnxSession, runOnnx, runTf } from './helpers.js';

const small = { main: { stem: 4, widths: [4, 8] }, router: { stem: 4, widths: [4, 8] } };
const settings = { dataset: 'fashion-mnist', dataDir: null, limit: 300, skipCorrupt: false, valSize: 100, seed: 5, eps: 0.1, attackSteps: 2 };

let work: string;

async function makeCheckpoint(dir: string, variant: Variant): Promise<string> {
  const model = createModel(buildConfig('fmnist-tiny', variant, small), 3);
  try {
    await saveCheckpoint(dir, { model, epoch: 1, step: 2, trainerState: { settings } });
  } finally {
    model.dispose();
  }
  return dir;
}

const sidecar = async (onnx: string): Promise<AwnetMetadata> => parseMetadata(await readFile(onnx.replace(/\.onnx$/, '.json'), 'utf8'));

before(async () => {
  await initBackend({ backend: 'wasm', log: () => undefined });
  work = await mkdtemp(join(tmpdir(), 'awnet-hold-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

// Each test makes its own checkpoints and files under `work` and mostly waits on CLI processes:
// the tests, and the commands within one, run side by side.
describe('the router hold from checkpoint to ONNX', { concurrency: true }, () => {
  test('hold records it in a copy, export bakes it in, the ONNX model answers as the held tfjs model', async () => {
    const source = await makeCheckpoint(join(work, 'awnet'), 'awnet');
    const held = join(work, 'awnet-held');
    const r = await runCli(['hold', source, '--mix-cap', '0.4', '--omega-bound', '0.2', '--out', held]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /router hold cap0\.4,omega0\.2 \(P\(clean\) cap 0\.4, ω bound 0\.2; was none recorded\)/);
    assert.equal((await readCheckpointMeta(source)).config.hold, undefined, 'the source is left as it was');
    assert.deepEqual((await readCheckpointMeta(held)).config.hold, { pCleanCap: 0.4, omegaBound: 0.2 });

    const out = join(work, 'held.onnx');
    const e = await runCli(['export', '--checkpoint', held, '--out', out]);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual((await sidecar(out)).routerHold, { pCleanCap: 0.4, omegaBound: 0.2 });

    const data = await loadFashionMnist({ split: 'test', limit: 64 });
    const { model } = await loadCheckpoint(held);
    const session = await onnxSession(await readFile(out));
    try {
      const onnx = await runOnnx(session, data.images, 64, model.config.input, 64);
      const ref = runTf(model, data.images, 64);
      assert.ok(maxAbsDiff(onnx.probabilities, ref.probabilities) < 1e-4);
      assert.ok(maxAbsDiff(onnx.score, ref.score) < 1e-4);
    } finally {
      await session.release();
      model.dispose();
    }
  });

  test('export --mix-cap overrides what the checkpoint records, and a cap below 1 on a static model is refused', async () => {
    const source = await makeCheckpoint(join(work, 'awnet-2'), 'awnet');
    const fixed = await makeCheckpoint(join(work, 'static'), 'static');
    const out = join(work, 'capped.onnx');
    const plain = join(work, 'plain.onnx');
    const [e, p, s, h] = await Promise.all([
      runCli(['export', '--checkpoint', source, '--out', out, '--mix-cap', '0.5']),
      runCli(['export', '--checkpoint', source, '--out', plain]),
      runCli(['export', '--checkpoint', fixed, '--out', join(work, 'static.onnx'), '--mix-cap', '0.5']),
      runCli(['hold', fixed, '--mix-cap', '0.5']),
    ]);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual((await sidecar(out)).routerHold, { pCleanCap: 0.5, omegaBound: null });

    assert.equal(p.code, 0);
    assert.equal((await sidecar(plain)).routerHold, undefined, 'no hold recorded, none in the metadata');

    assert.equal(s.code, 1);
    assert.match(s.stderr, /needs a variant whose MixBN mixes with the router \(awnet\), not static \[EXPORT_BAD_OPTION\]/);
    assert.equal(h.code, 1);
    assert.match(h.stderr, /awnet hold: .*not static \[MODEL_BAD_CONFIG\]/);
  });

  test('evaluate --split validation --mix-cap runs one model per cap on the held-out images, router scores unchanged', async () => {
    const source = await makeCheckpoint(join(work, 'awnet-3'), 'awnet');
    const fixed = await makeCheckpoint(join(work, 'static-3'), 'static');
    const out = join(work, 'sweep.json');
    const r = await runCli([
      'evaluate', source, fixed, '--split', 'validation', '--limit', '40', '--mix-cap', '1,0',
      '--attacks', 'fgsm', '--no-benign', '--no-curve', '--batch-size', '20', '--no-progress', '--out', out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(await readFile(out, 'utf8')) as {
      split: string;
      count: number;
      models: { name: string; hold: unknown; meanCleanAdversarialScore: number | null; attacks: { id: string }[] }[];
    };
    assert.match(report.split, /^train\[validation: 40 of 100 held out, seed 5\]$/);
    assert.equal(report.count, 40);
    assert.deepEqual(report.models.map((m) => m.name), ['awnet-3@free', 'awnet-3@cap0', 'static-3']);
    assert.deepEqual(report.models.map((m) => m.hold), [
      { pCleanCap: 1, omegaBound: null },
      { pCleanCap: 0, omegaBound: null },
      { pCleanCap: 1, omegaBound: null },
    ]);
    const [free, capped] = report.models;
    assert.equal(free?.meanCleanAdversarialScore, capped?.meanCleanAdversarialScore, 'the cap leaves the adversarial score alone');
    assert.deepEqual(capped?.attacks.map((a) => a.id), ['fgsm']);
  });
});
