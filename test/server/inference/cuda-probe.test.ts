import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { chooseProviders, elfNeeded, probeCuda, systemProbeEnv, type ProbeEnv } from '../../../src/server/inference/cuda-probe.js';
import { repoRoot } from '../../../src/server/repo-root.js';
import { writeSyntheticModel } from '../synthetic-model.js';

const CUDA_NEEDS = ['libcublasLt.so.12', 'libcublas.so.12', 'libcudnn.so.9', 'libcudart.so.12', 'libc.so.6'];

/** A fake machine: real files in a temporary folder, the loader cache and ELF contents given. */
function fakeMachine(files: { provider?: string[]; system?: string[]; ldPath?: string[] }, cached: string[] = []): ProbeEnv {
  const root = mkdtempSync(path.join(tmpdir(), 'awnet-cuda-probe-'));
  const dir = (name: string, libs: string[] = []): string => {
    mkdirSync(path.join(root, name), { recursive: true });
    for (const lib of libs) writeFileSync(path.join(root, name, lib), 'fake');
    return path.join(root, name);
  };
  const real = systemProbeEnv();
  return {
    platform: 'linux',
    providerDir: dir('ort', files.provider),
    searchDirs: [dir('ld-library-path', files.ldPath), dir('usr-lib', files.system)],
    cached: new Set(cached),
    exists: real.exists,
    needed: (file) => (file.endsWith('libonnxruntime_providers_cuda.so') ? CUDA_NEEDS : null),
  };
}

const PROVIDERS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

describe('the CUDA probe decides from files, without asking onnxruntime', () => {
  it('a CPU install of onnxruntime-node: no provider library, cuda is not requested', () => {
    const result = probeCuda(fakeMachine({}));
    assert.equal(result.usable, false);
    assert.match(result.reason, /libonnxruntime_providers_shared\.so is not in .*ort: .*npm run install:cuda adds it/);
    const half = probeCuda(fakeMachine({ provider: ['libonnxruntime_providers_shared.so'] }));
    assert.match(half.reason, /^libonnxruntime_providers_cuda\.so is not in /);
  });

  it('the provider without CUDA or cuDNN on the machine names what is missing', () => {
    const result = probeCuda(fakeMachine({ provider: PROVIDERS, system: ['libcublas.so.12'] }, ['libc.so.6']));
    assert.equal(result.usable, false);
    assert.match(result.reason, /needs libcublasLt\.so\.12, libcudnn\.so\.9, libcudart\.so\.12, which the dynamic loader cannot find/);
  });

  it('dependencies found in the loader cache, LD_LIBRARY_PATH, system folders or beside the provider: cuda is requested', () => {
    const env = fakeMachine(
      { provider: [...PROVIDERS, 'libcudart.so.12'], ldPath: ['libcudnn.so.9'], system: ['libcublas.so.12'] },
      ['libcublasLt.so.12', 'libc.so.6'],
    );
    const result = probeCuda(env);
    assert.deepEqual(result, { usable: true, reason: 'the CUDA provider and the 5 libraries it links against are installed' });
  });

  it('an unreadable provider library is not used; off Linux onnxruntime decides', () => {
    const env = fakeMachine({ provider: PROVIDERS });
    assert.match(probeCuda({ ...env, needed: () => null }).reason, /not a readable ELF shared library/);
    assert.equal(probeCuda({ ...env, platform: 'win32' }).usable, true);
  });

  it('reads the libraries an ELF file links against, piece by piece', () => {
    const lib = path.join(systemProbeEnv().providerDir, 'libonnxruntime.so.1');
    const fd = openSync(lib, 'r');
    try {
      const needed = elfNeeded((offset, length) => {
        const b = Buffer.alloc(length);
        return b.subarray(0, readSync(fd, b, 0, length, offset));
      });
      assert.ok(needed?.includes('libc.so.6'), String(needed));
    } finally {
      closeSync(fd);
    }
    assert.equal(elfNeeded(() => Buffer.from('#!/bin/sh\n'.padEnd(64))), null);
  });

  it('cuda is left out only when something else can run; the log line says which runs and why', () => {
    const no = { usable: false, reason: 'no CUDA here' };
    assert.deepEqual(chooseProviders(['cuda', 'cpu'], no), { providers: ['cpu'], line: 'execution provider cpu runs the models, not cuda: no CUDA here' });
    assert.deepEqual(chooseProviders(['cuda'], no).providers, ['cuda']);
    assert.deepEqual(chooseProviders(['cuda', 'cpu'], { usable: true, reason: 'found' }).providers, ['cuda', 'cpu']);
  });

  it('a start on this machine prints no onnxruntime FAIL line and one line about the provider', { skip: probeCuda(systemProbeEnv()).usable ? 'CUDA is installed here' : false }, async () => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'dist/src/main.js')], {
      env: { ...process.env, AWNET_MODELS: writeSyntheticModel(), AWNET_EXECUTION_PROVIDERS: 'cuda,cpu', AWNET_PORT: '0', AWNET_ADMIN_PORT: '0', AWNET_HOST: '127.0.0.1', AWNET_WORKERS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Server listening')) child.kill('SIGTERM');
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    assert.match(out, /Server listening/);
    assert.doesNotMatch(err, /FAIL/);
    assert.ok(!err.includes('\u001b[1;31m'), 'no red line');
    assert.equal(out.match(/execution provider cpu runs the models, not cuda: /g)?.length, 1, out);
  });
});
