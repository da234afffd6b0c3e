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
    // Every address, IPv6 included: an IPv6-only cluster's probes reach it.
    assert.equal(config.host, '::');
    assert.equal(config.adminPort, 9464);
    assert.equal(config.docs, true);
    assert.equal(config.serveUnscreened, false);
    assert.equal(config.livenessGraceSeconds, 60);
    assert.deepEqual(config.executionProviders, ['cuda', 'cpu']);
    assert.equal(config.executionProvidersSet, false);
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
        AWNET_ADMIN_PORT: '9001',
        AWNET_DOCS: 'false',
        AWNET_SERVE_UNSCREENED: 'TRUE',
        AWNET_LIVENESS_GRACE_SECONDS: '90',
        AWNET_DIRECT_CLIENTS: 'false',
        AWNET_CLIENT_KEY_SALT: 's3cret',
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
        AWNET_QUERY_ATTACK_ACTION: 'Throttle',
        AWNET_QUERY_ATTACK_THRESHOLD: '20',
        AWNET_QUERY_ATTACK_WINDOW_SECONDS: '120',
        AWNET_QUERY_ATTACK_HISTORY: '64',
        AWNET_QUERY_ATTACK_MAX_CLIENTS: '100',
        AWNET_QUERY_ATTACK_CROSS_KEY_THRESHOLD: '30',
        AWNET_QUERY_ATTACK_CROSS_KEY_CLIENTS: '6',
        AWNET_QUERY_ATTACK_CROSS_KEY_MEMORY: '4096',
        AWNET_CLIENT_KEY_HEADER: 'X-Api-Key',
        AWNET_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.1 ,fd00::/8',
        AWNET_EVIDENCE_DIR: '.',
        AWNET_EVIDENCE_MAX_BYTES: '1048576',
      },
      dir,
    );
    assert.deepEqual(
      {
        ...config,
        models: [...config.models],
        executionProviders: [...config.executionProviders],
        queryAttack: { ...config.queryAttack, trustedProxies: [...config.queryAttack.trustedProxies] },
        evidence: { ...config.evidence },
      },
      {
        host: '127.0.0.1',
        port: 9000,
        adminPort: 9001,
        docs: false,
        serveUnscreened: true,
        livenessGraceSeconds: 90,
        models: [model, second],
        executionProviders: ['cpu'],
        executionProvidersSet: true,
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
        queryAttack: {
          action: 'throttle',
          threshold: 20,
          windowSeconds: 120,
          history: 64,
          maxClients: 100,
          clientKeyHeader: 'x-api-key',
          trustedProxies: ['10.0.0.0/8', '192.0.2.1', 'fd00::/8'],
          directClients: false,
          keySalt: 's3cret',
          crossKey: { enabled: true, threshold: 30, minClients: 6, memory: 4096 },
        },
        evidence: { dir, maxBytes: 1048576 },
      },
    );
  });

  it('detects query attacks by default, observing only, and keeps no evidence', () => {
    const { queryAttack, evidence } = loadConfig(base);
    assert.deepEqual({ ...queryAttack, trustedProxies: [...queryAttack.trustedProxies] }, {
      action: 'observe',
      threshold: 10,
      windowSeconds: 600,
      history: 128,
      maxClients: 4096,
      clientKeyHeader: undefined,
      trustedProxies: [],
      directClients: false,
      keySalt: undefined,
      crossKey: { enabled: true, threshold: 100, minClients: 10, memory: 16_384 },
    });
    assert.equal(evidence.dir, undefined);
    assert.ok(Object.isFrozen(queryAttack) && Object.isFrozen(queryAttack.crossKey) && Object.isFrozen(evidence));
    assert.equal(loadConfig({ ...base, AWNET_QUERY_ATTACK_CROSS_KEY: 'false' }).queryAttack.crossKey.enabled, false);
    assert.equal(loadConfig({ ...base, AWNET_QUERY_ATTACK_ACTION: 'off' }).queryAttack.crossKey.enabled, false, 'off keeps no state at all');
  });

  it('names the variable for bad query-attack and evidence settings', () => {
    rejects({ AWNET_QUERY_ATTACK_ACTION: 'block' }, 'AWNET_QUERY_ATTACK_ACTION', /off, observe, header, throttle/);
    rejects({ AWNET_QUERY_ATTACK_THRESHOLD: '1' }, 'AWNET_QUERY_ATTACK_THRESHOLD', /from 2 to 100000/);
    rejects({ AWNET_QUERY_ATTACK_HISTORY: '5000' }, 'AWNET_QUERY_ATTACK_HISTORY', /from 8 to 4096/);
    rejects({ AWNET_QUERY_ATTACK_MAX_CLIENTS: '0' }, 'AWNET_QUERY_ATTACK_MAX_CLIENTS', /out of range/);
    rejects({ AWNET_QUERY_ATTACK_WINDOW_SECONDS: 'ten' }, 'AWNET_QUERY_ATTACK_WINDOW_SECONDS', /whole number/);
    rejects({ AWNET_QUERY_ATTACK_CROSS_KEY: 'on' }, 'AWNET_QUERY_ATTACK_CROSS_KEY', /true, false/);
    rejects({ AWNET_QUERY_ATTACK_CROSS_KEY_THRESHOLD: '1' }, 'AWNET_QUERY_ATTACK_CROSS_KEY_THRESHOLD', /from 2 to 100000/);
    rejects({ AWNET_QUERY_ATTACK_CROSS_KEY_CLIENTS: '1' }, 'AWNET_QUERY_ATTACK_CROSS_KEY_CLIENTS', /from 2 to 100000/);
    rejects({ AWNET_QUERY_ATTACK_CROSS_KEY_MEMORY: '2000000' }, 'AWNET_QUERY_ATTACK_CROSS_KEY_MEMORY', /from 64 to 1000000/);
    rejects({ AWNET_CLIENT_KEY_HEADER: 'x api key' }, 'AWNET_CLIENT_KEY_HEADER', /not an HTTP header name/);
    rejects({ AWNET_TRUSTED_PROXIES: '10.0.0.0/33' }, 'AWNET_TRUSTED_PROXIES', /'10\.0\.0\.0\/33' is not valid/);
    rejects({ AWNET_TRUSTED_PROXIES: 'proxy.internal' }, 'AWNET_TRUSTED_PROXIES', /IP addresses or CIDR ranges/);
    rejects({ AWNET_TRUSTED_PROXIES: '10.0.0.1,,10.0.0.2' }, 'AWNET_TRUSTED_PROXIES', /'' is not valid/);
    rejects({ AWNET_EVIDENCE_DIR: '/nonexistent/evidence' }, 'AWNET_EVIDENCE_DIR', /does not exist/);
    rejects({ AWNET_EVIDENCE_MAX_BYTES: '100' }, 'AWNET_EVIDENCE_MAX_BYTES', /from 65536/);
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
      AWNET_ADMIN_PORT: '2',
      AWNET_DOCS: 'false',
      AWNET_SERVE_UNSCREENED: 'true',
      AWNET_LIVENESS_GRACE_SECONDS: '7',
      AWNET_DIRECT_CLIENTS: 'true',
      AWNET_CLIENT_KEY_SALT: 'pepper',
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
      AWNET_QUERY_ATTACK_ACTION: 'header',
      AWNET_QUERY_ATTACK_THRESHOLD: '37',
      AWNET_QUERY_ATTACK_WINDOW_SECONDS: '41',
      AWNET_QUERY_ATTACK_HISTORY: '43',
      AWNET_QUERY_ATTACK_MAX_CLIENTS: '47',
      AWNET_QUERY_ATTACK_CROSS_KEY: 'false',
      AWNET_QUERY_ATTACK_CROSS_KEY_THRESHOLD: '53',
      AWNET_QUERY_ATTACK_CROSS_KEY_CLIENTS: '59',
      AWNET_QUERY_ATTACK_CROSS_KEY_MEMORY: '100',
      AWNET_CLIENT_KEY_HEADER: 'x-client',
      AWNET_TRUSTED_PROXIES: '127.0.0.1',
      AWNET_EVIDENCE_DIR: mkdtempSync(path.join(tmpdir(), 'awnet-cfg-evidence-')),
      AWNET_EVIDENCE_MAX_BYTES: '100000',
    };
    assert.deepEqual(Object.keys(samples).sort(), [...CONFIG_KEYS].sort());
    const defaults = JSON.stringify(loadConfig(base));
    for (const key of CONFIG_KEYS) {
      assert.notEqual(JSON.stringify(loadConfig({ ...base, [key]: samples[key]! })), defaults, `${key} has no effect`);
    }
  });

  it('refuses throttle where every client would share one key: the peer address with no proxy trusted and no key header', () => {
    assert.throws(
      () => loadConfig({ ...base, AWNET_QUERY_ATTACK_ACTION: 'throttle' }),
      (err: Error) => err instanceof ConfigError && /^AWNET_QUERY_ATTACK_ACTION: 'throttle' would key clients by the connection's peer address/.test(err.message) && /AWNET_TRUSTED_PROXIES/.test(err.message),
    );
    // Each way of keying clients apart makes it acceptable; observe never needed one.
    for (const extra of [{ AWNET_TRUSTED_PROXIES: '10.0.0.0/8' }, { AWNET_CLIENT_KEY_HEADER: 'x-api-key' }, { AWNET_DIRECT_CLIENTS: 'true' }]) {
      assert.equal(loadConfig({ ...base, AWNET_QUERY_ATTACK_ACTION: 'throttle', ...extra }).queryAttack.action, 'throttle', JSON.stringify(extra));
    }
    assert.equal(loadConfig({ ...base, AWNET_QUERY_ATTACK_ACTION: 'observe' }).queryAttack.action, 'observe');
  });

  it('refuses an admin port equal to the inference port, and a yes/no setting that is neither', () => {
    assert.throws(() => loadConfig({ ...base, AWNET_PORT: '9000', AWNET_ADMIN_PORT: '9000' }), /AWNET_ADMIN_PORT: 9000 is AWNET_PORT too/);
    assert.throws(() => loadConfig({ ...base, AWNET_DOCS: 'no' }), /AWNET_DOCS: 'no' is not valid; valid: true, false/);
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
