import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { activeBackend, BACKEND_ENV_VAR, BackendError, initBackend } from '../../src/tf/backend.js';

async function importable(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

describe('initBackend', () => {
  afterEach(() => {
    delete process.env[BACKEND_ENV_VAR];
  });

  it('starts the first backend that works and logs it in one line, naming the ones not installed', async () => {
    const lines: string[] = [];
    const info = await initBackend({ log: (l) => lines.push(l) });
    const nodeGpu = await importable('@tensorflow/tfjs-node-gpu');
    const node = await importable('@tensorflow/tfjs-node');
    const expected = nodeGpu ? 'tensorflow-gpu' : node ? 'tensorflow' : 'wasm';
    assert.equal(info.backend, expected);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^tfjs backend: ${expected} from ${info.source.replace(/[/@]/g, '\\$&')}`));
    if (expected === 'wasm') {
      assert.equal(info.source, '@tensorflow/tfjs-backend-wasm');
      assert.equal(tf.getBackend(), 'wasm');
      // The optional native packages are not installed here: said plainly, no loader error.
      assert.match(lines[0]!, /\[tensorflow-gpu and tensorflow not installed\]$/);
      assert.doesNotMatch(lines[0]!, /Cannot find package/);
      assert.match(lines[0]!, /fast training kernels installed/);
      assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    }
    assert.deepEqual(activeBackend(), info);
  });

  it('is idempotent: a second call returns the running backend without starting anything', async () => {
    const first = await initBackend({ log: () => {} });
    const lines: string[] = [];
    const again = await initBackend({ log: (l) => lines.push(l) });
    assert.equal(again, first);
    assert.deepEqual(lines, []);
  });

  it('switches when the option forces another backend, and says it was forced', async () => {
    const lines: string[] = [];
    const info = await initBackend({ backend: 'cpu', log: (l) => lines.push(l) });
    assert.equal(info.backend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(lines[0]!, /^tfjs backend: cpu .*\[forced\]$/);
    const wasm = await initBackend({ backend: 'wasm', log: () => {} });
    assert.equal(wasm.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
  });

  it(`honours ${BACKEND_ENV_VAR}, and the option overrides it`, async () => {
    process.env[BACKEND_ENV_VAR] = 'cpu';
    assert.equal((await initBackend({ log: () => {} })).backend, 'cpu');
    assert.equal((await initBackend({ backend: 'wasm', log: () => {} })).backend, 'wasm');
  });

  it(`rejects an unknown ${BACKEND_ENV_VAR} value, naming it and the valid ones`, async () => {
    process.env[BACKEND_ENV_VAR] = 'gpu';
    await assert.rejects(initBackend({ log: () => {} }), (err: unknown) => {
      assert.ok(err instanceof BackendError);
      assert.equal(err.code, 'AWNET_TF_BACKEND_UNAVAILABLE');
      assert.match(err.message, /AWNET_TF_BACKEND is 'gpu'/);
      assert.match(err.message, /tensorflow-gpu, tensorflow, wasm, cpu/);
      return true;
    });
  });

  it('fails clearly when a forced backend cannot load, naming it and why', async (t) => {
    for (const [name, pkg] of [
      ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
      ['tensorflow', '@tensorflow/tfjs-node'],
    ] as const) {
      if (await importable(pkg)) {
        t.diagnostic(`${pkg} is installed here; its failure path is not exercised`);
        continue;
      }
      await assert.rejects(initBackend({ backend: name, log: () => {} }), (err: unknown) => {
        assert.ok(err instanceof BackendError);
        assert.match(err.message, new RegExp(`backend '${name}' was requested but is unavailable: ${pkg} is not installed$`));
        return true;
      });
    }
    // A failed forced start leaves the previous backend running.
    assert.equal(tf.getBackend(), 'wasm');
  });
});
