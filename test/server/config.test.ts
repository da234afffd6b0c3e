import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_KEYS, ConfigError, loadConfig, unreadLookalikes } from '../../src/server/config.js';
import { repoRoot } from '../../src/server/repo-root.js';
import { writeSyntheticModel } from './synthetic-model.js';

const model = writeSyntheticModel();
const base = { AWNET_MODELS: model };

function rejects(env: Record<string, string>, variable: string, pattern: RegExp): void {
  assert.throws(
    () => loadConfig({ ...base, ...env }),
    (error: unknown) => error instanceof ConfigError && error.variable === variable && pattern.test(error.message),
  );
}

describe('config', () => {
  it('has documented defaults and is frozen', () => {
    const config = loadConfig(base);
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.deepEqual(config.executionProviders, ['cuda', 'cpu']);
    assert.deepEqual(config.models, [model]);
    assert.equal(config.flagThreshold, undefined);
    assert.equal(config.logLevel, 'info');
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.models));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  it('reads every variable', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'awnet-cfg-'));
    const second = writeSyntheticModel({ name: 'other', dir });
    const config = loadConfig(
      {
        AWNET_HOST: '127.0.0.1',
        AWNET_PORT: '9000',
        AWNET_MODELS: ` ${model} , ${path.relative(dir, second)} `,
        AWNET_EXECUTION_PROVIDERS: 'CPU',
        AWNET_WORKERS: '3',
        AWNET_INTRA_OP_THREADS: '2',
        AWNET_MAX_BATCH_SIZE: '64',
        AWNET_MAX_BATCH_DELAY_MS: '0',
        AWNET_QUEUE_LIMIT: '7',
        AWNET_REQUEST_TIMEOUT_MS: '1500',
        AWNET_BODY_LIMIT_BYTES: '1000',
        AWNET_MAX_FILES: '4',
        AWNET_MAX_INPUT_PIXELS: '100',
        AWNET_FLAG_THRESHOLD: '0.25',
        AWNET_FLAGGED_WINDOW_SECONDS: '60',
        AWNET_SHUTDOWN_GRACE_MS: '5000',
        AWNET_LOG_LEVEL: 'warn',
      },
      dir,
    );
    assert.deepEqual(
      { ...config, models: [...config.models], executionProviders: [...config.executionProviders] },
      {
        host: '127.0.0.1',
        port: 9000,
        models: [model, second],
        executionProviders: ['cpu'],
        workers: 3,
        intraOpThreads: 2,
        maxBatchSize: 64,
        maxBatchDelayMs: 0,
        queueLimit: 7,
        requestTimeoutMs: 1500,
        bodyLimitBytes: 1000,
        maxFiles: 4,
        maxInputPixels: 100,
        flagThreshold: 0.25,
        flaggedWindowSeconds: 60,
        shutdownGraceMs: 5000,
        logLevel: 'warn',
      },
    );
  });

  it('names the variable and the valid range for bad values', () => {
    rejects({ AWNET_PORT: 'eighty' }, 'AWNET_PORT', /from 0 to 65535/);
    rejects({ AWNET_PORT: '70000' }, 'AWNET_PORT', /out of range/);
    rejects({ AWNET_WORKERS: '0' }, 'AWNET_WORKERS', /from 1 to 64/);
    rejects({ AWNET_MAX_BATCH_SIZE: '1.5' }, 'AWNET_MAX_BATCH_SIZE', /whole number/);
    rejects({ AWNET_QUEUE_LIMIT: '-3' }, 'AWNET_QUEUE_LIMIT', /whole number/);
    rejects({ AWNET_FLAG_THRESHOLD: '1.2' }, 'AWNET_FLAG_THRESHOLD', /from 0 to 1/);
    rejects({ AWNET_FLAG_THRESHOLD: 'high' }, 'AWNET_FLAG_THRESHOLD', /from 0 to 1/);
    rejects({ AWNET_EXECUTION_PROVIDERS: 'cuda,tpu' }, 'AWNET_EXECUTION_PROVIDERS', /'tpu'.*cuda, cpu/);
    rejects({ AWNET_EXECUTION_PROVIDERS: 'cpu,cpu' }, 'AWNET_EXECUTION_PROVIDERS', /twice/);
    rejects({ AWNET_LOG_LEVEL: 'loud' }, 'AWNET_LOG_LEVEL', /fatal, error, warn, info/);
    rejects({ AWNET_MODELS: '/nonexistent/model.onnx' }, 'AWNET_MODELS', /does not exist/);
    rejects({ AWNET_MODELS: `${model},` }, 'AWNET_MODELS', /empty entry/);
    rejects({ AWNET_MODELS: `${model},${model}` }, 'AWNET_MODELS', /unique/);
    const notOnnx = path.join(mkdtempSync(path.join(tmpdir(), 'awnet-cfg-')), 'model.bin');
    writeFileSync(notOnnx, 'x');
    rejects({ AWNET_MODELS: notOnnx }, 'AWNET_MODELS', /not an \.onnx file/);
  });

  it('reads every key it lists, and each one changes the configuration', () => {
    const other = writeSyntheticModel({ name: 'another' });
    const samples: Record<string, string> = {
      AWNET_HOST: '::1',
      AWNET_PORT: '1',
      AWNET_MODELS: other,
      AWNET_EXECUTION_PROVIDERS: 'cpu',
      AWNET_WORKERS: '2',
      AWNET_INTRA_OP_THREADS: '3',
      AWNET_MAX_BATCH_SIZE: '5',
      AWNET_MAX_BATCH_DELAY_MS: '9',
      AWNET_QUEUE_LIMIT: '11',
      AWNET_REQUEST_TIMEOUT_MS: '13',
      AWNET_BODY_LIMIT_BYTES: '17',
      AWNET_MAX_FILES: '19',
      AWNET_MAX_INPUT_PIXELS: '23',
      AWNET_FLAG_THRESHOLD: '0.125',
      AWNET_FLAGGED_WINDOW_SECONDS: '29',
      AWNET_SHUTDOWN_GRACE_MS: '31',
      AWNET_LOG_LEVEL: 'trace',
    };
    assert.deepEqual(Object.keys(samples).sort(), [...CONFIG_KEYS].sort());
    const defaults = JSON.stringify(loadConfig(base));
    for (const key of CONFIG_KEYS) {
      assert.notEqual(JSON.stringify(loadConfig({ ...base, [key]: samples[key]! })), defaults, `${key} has no effect`);
    }
  });

  it('stops the process with a message naming the bad variable', () => {
    const result = spawnSync(process.execPath, [path.join(repoRoot(), 'dist/src/main.js')], {
      env: { ...process.env, AWNET_MODELS: model, AWNET_MAX_BATCH_DELAY_MS: 'soon' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /AWNET_MAX_BATCH_DELAY_MS: 'soon' is not a whole number; valid: an integer from 0 to 1000/);
  });
});

describe('variables the service does not read', () => {
  it('a plain PORT or HOST is named, unless the AWNET_ variable is set too', () => {
    assert.deepEqual(unreadLookalikes({ PORT: '9000' }), [{ variable: 'PORT', instead: 'AWNET_PORT' }]);
    assert.deepEqual(unreadLookalikes({ PORT: '9000', HOST: '::' }).map((l) => l.variable), ['PORT', 'HOST']);
    assert.deepEqual(unreadLookalikes({ PORT: '9000', AWNET_PORT: '9000' }), []);
    assert.deepEqual(unreadLookalikes({}), []);
    assert.equal(loadConfig({ ...base, PORT: '9000' }).port, 8080, 'and it really is not read');
  });
});
