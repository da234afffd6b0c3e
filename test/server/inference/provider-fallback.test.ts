import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { buildApp } from '../../../src/server/app.js';
import { loadConfig } from '../../../src/server/config.js';
import { fellBack, workerPoolEngine, type EngineFactory } from '../../../src/server/inference/model-registry.js';
import { metricValue } from '../helpers.js';
import { writeSyntheticModel } from '../synthetic-model.js';

interface LogLine {
  level: number;
  msg: string;
}
const WARN = 40;

/** The real app with its real logger writing into an array, and the /metrics text. */
async function start(providers: string | undefined, engineFactory?: EngineFactory): Promise<{ logs: LogLine[]; metrics: string; provider: string; close(): Promise<void> }> {
  const logs: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const model = writeSyntheticModel({ name: 'gpu-model' });
  const config = loadConfig({ AWNET_MODELS: model, AWNET_WORKERS: '1', ...(providers === undefined ? {} : { AWNET_EXECUTION_PROVIDERS: providers }) });
  const registry = new Registry();
  const app = await buildApp({ config, registry, logger: { level: 'info', stream }, ...(engineFactory ? { engineFactory } : {}) });
  await app.ready();
  return { logs, metrics: await registry.metrics(), provider: app.models.get('gpu-model').engine.provider, close: () => app.close() };
}

describe('a GPU pod that falls back to the CPU', () => {
  it('fellBack is true only for a later configured provider', () => {
    assert.equal(fellBack('cpu', ['cuda', 'cpu'], true), true);
    assert.equal(fellBack('cuda', ['cuda', 'cpu'], true), false);
    assert.equal(fellBack('cpu', ['cpu'], true), false);
    assert.equal(fellBack('none', ['cuda', 'cpu'], true), false, 'an engine of its own kind is not a fallback');
    assert.equal(fellBack('cpu', ['cuda', 'cpu'], false), false, 'the default list asks for CUDA only in passing');
  });

  it('with the default providers, a CPU engine is no fallback: no warning, fallback 0', async () => {
    // The same CPU engine as below, but AWNET_EXECUTION_PROVIDERS unset (its default is cuda,cpu).
    const onCpu: EngineFactory = (file, metadata, settings, log) => workerPoolEngine(file, metadata, { ...settings, executionProviders: ['cpu'] }, log);
    const app = await start(undefined, onCpu);
    try {
      assert.equal(app.provider, 'cpu');
      assert.equal(metricValue(app.metrics, 'awnet_execution_provider_fallback', { model: 'gpu-model' }), 0);
      assert.ok(!app.logs.some((l) => l.level >= WARN), app.logs.map((l) => `${l.level} ${l.msg}`).join('\n'));
    } finally {
      await app.close();
    }
  });

  it('with the real onnxruntime and the default providers, a machine without CUDA starts without a word about it', async () => {
    const app = await start(undefined);
    try {
      const fallback = metricValue(app.metrics, 'awnet_execution_provider_fallback', { model: 'gpu-model' });
      assert.equal(fallback, 0);
      assert.ok(!app.logs.some((l) => l.level >= WARN), app.logs.map((l) => `${l.level} ${l.msg}`).join('\n'));
      if (app.provider === 'cpu') {
        assert.deepEqual(app.logs.filter((l) => /cuda/i.test(l.msg)).map((l) => l.msg), [], 'nothing about CUDA on a machine without it');
        assert.ok(app.logs.some((l) => /model gpu-model .* loaded .* on cpu/.test(l.msg)), 'the provider that runs is still named');
      } else {
        assert.equal(app.provider, 'cuda');
      }
    } finally {
      await app.close();
    }
  });

  it('is logged at warn level and exported as awnet_execution_provider_fallback 1', async () => {
    // The engine the CPU-only install really builds when CUDA is asked for first.
    const onCpu: EngineFactory = (file, metadata, settings, log) => workerPoolEngine(file, metadata, { ...settings, executionProviders: ['cpu'] }, log);
    const app = await start('cuda,cpu', onCpu);
    try {
      assert.equal(app.provider, 'cpu');
      assert.equal(metricValue(app.metrics, 'awnet_execution_provider_fallback', { model: 'gpu-model' }), 1);
      assert.equal(metricValue(app.metrics, 'awnet_model_info', { model: 'gpu-model', execution_provider: 'cpu' }), 1);
      const warning = app.logs.find((l) => l.level === WARN && /gpu-model runs on the cpu execution provider, not on cuda/.test(l.msg));
      assert.ok(warning, app.logs.map((l) => `${l.level} ${l.msg}`).join('\n'));
    } finally {
      await app.close();
    }
  });

  it('with the real onnxruntime: cuda,cpu on this machine reports what actually runs', async () => {
    const app = await start('cuda,cpu');
    try {
      const fallback = metricValue(app.metrics, 'awnet_execution_provider_fallback', { model: 'gpu-model' });
      const warned = app.logs.some((l) => l.level === WARN && /execution provider/.test(l.msg));
      if (app.provider === 'cuda') {
        assert.equal(fallback, 0);
        assert.equal(warned, false);
      } else {
        // No CUDA provider library in a CPU install: the fallback is real here.
        assert.equal(app.provider, 'cpu');
        assert.equal(fallback, 1);
        assert.equal(warned, true, app.logs.map((l) => `${l.level} ${l.msg}`).join('\n'));
      }
    } finally {
      await app.close();
    }
  });

  it('a CPU pod asked for the CPU only does not count as a fallback', async () => {
    const app = await start('cpu');
    try {
      assert.equal(metricValue(app.metrics, 'awnet_execution_provider_fallback', { model: 'gpu-model' }), 0);
      assert.ok(!app.logs.some((l) => l.level >= WARN), app.logs.map((l) => `${l.level} ${l.msg}`).join('\n'));
    } finally {
      await app.close();
    }
  });
});
