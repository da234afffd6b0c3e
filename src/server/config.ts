import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, type ConfigKey } from './config-keys.js';
import { bool, ConfigError, fraction, integer, oneOf, raw, type Env } from './config-values.js';
import { evidenceConfig, queryAttackConfig, type EvidenceConfig, type QueryAttackConfig } from './query-attack/query-attack-config.js';
import { repoRoot } from './repo-root.js';

export { CONFIG_KEYS, ConfigError, type ConfigKey };
export { QUERY_ATTACK_ACTIONS, type EvidenceConfig, type QueryAttackAction, type QueryAttackConfig } from './query-attack/query-attack-config.js';

export const EXECUTION_PROVIDERS = ['cuda', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly host: string;
  readonly port: number;
  /** /metrics: apart from the inference port, so that no client reads what the detector knows. */
  readonly adminPort: number;
  /** The OpenAPI document and UI (/docs) on the inference port. */
  readonly docs: boolean;
  /** Serve models without a router (their images cannot be screened) when asked to. */
  readonly serveUnscreened: boolean;
  /** Absolute paths of the ONNX files to serve; the first is the default model. */
  readonly models: readonly string[];
  /** Tried in order; the first that creates a session is used. */
  readonly executionProviders: readonly ExecutionProvider[];
  /**
   * AWNET_EXECUTION_PROVIDERS is set (the GPU overlay sets it): running on a later provider
   * than its first is then a fallback, warned and counted. The default list tries CUDA where
   * it is installed and says nothing where it is not.
   */
  readonly executionProvidersSet: boolean;
  /** Worker threads per model, each holding its own onnxruntime session. */
  readonly workers: number;
  readonly intraOpThreads: number;
  readonly maxBatchSize: number;
  readonly maxBatchDelayMs: number;
  /** Images allowed to wait per model (in-flight batches not counted). */
  readonly queueLimit: number;
  readonly requestTimeoutMs: number;
  readonly bodyLimitBytes: number;
  readonly maxFiles: number;
  readonly maxInputPixels: number;
  /** Overrides every model's calibrated threshold when set. */
  readonly flagThreshold: number | undefined;
  readonly flaggedWindowSeconds: number;
  readonly shutdownGraceMs: number;
  /** A model without an inference worker this long fails liveness (the kubelet restarts the pod). */
  readonly livenessGraceSeconds: number;
  readonly logLevel: LogLevel;
  readonly queryAttack: QueryAttackConfig;
  readonly evidence: EvidenceConfig;
}

/** Routed models only: a model without a router is served only when AWNET_SERVE_UNSCREENED says so. */
export const DEFAULT_MODEL_FILES = ['models/fmnist-tiny-awnet.onnx'];

function providers(env: Env): ExecutionProvider[] {
  const text = raw(env, 'AWNET_EXECUTION_PROVIDERS') ?? 'cuda,cpu';
  const list = text.split(',').map((p) => p.trim().toLowerCase());
  const valid = `a comma-separated list of ${EXECUTION_PROVIDERS.join(', ')}`;
  if (list.some((p) => p === '')) throw new ConfigError('AWNET_EXECUTION_PROVIDERS', `'${text}' has an empty entry; valid: ${valid}`);
  for (const p of list) {
    if (!(EXECUTION_PROVIDERS as readonly string[]).includes(p)) {
      throw new ConfigError('AWNET_EXECUTION_PROVIDERS', `'${p}' is not a known provider; valid: ${valid}`);
    }
  }
  if (new Set(list).size !== list.length) {
    throw new ConfigError('AWNET_EXECUTION_PROVIDERS', `'${text}' names a provider twice; valid: ${valid}`);
  }
  return list as ExecutionProvider[];
}

function modelPaths(env: Env, cwd: string): string[] {
  const text = raw(env, 'AWNET_MODELS');
  const entries = text === undefined ? DEFAULT_MODEL_FILES.map((f) => path.join(repoRoot(), f)) : text.split(',');
  const paths = entries.map((e) => e.trim());
  if (paths.some((p) => p === '')) {
    throw new ConfigError('AWNET_MODELS', `'${text}' has an empty entry; valid: a comma-separated list of .onnx files`);
  }
  const resolved = paths.map((p) => path.resolve(cwd, p));
  for (const file of resolved) {
    if (!file.endsWith('.onnx')) throw new ConfigError('AWNET_MODELS', `${file} is not an .onnx file`);
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new ConfigError('AWNET_MODELS', `${file} does not exist or is not a file`);
    }
  }
  const names = resolved.map((f) => path.basename(f, '.onnx'));
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new ConfigError('AWNET_MODELS', `two files are named ${twice}.onnx; model names (file names) must be unique`);
  }
  return resolved;
}

function adminPort(env: Env): number {
  const admin = integer(env, 'AWNET_ADMIN_PORT', 9464, 0, 65535);
  const port = integer(env, 'AWNET_PORT', 8080, 0, 65535);
  if (admin !== 0 && admin === port) throw new ConfigError('AWNET_ADMIN_PORT', `${admin} is AWNET_PORT too; valid: a port other than the inference port`);
  return admin;
}

/** Reads and validates the whole configuration once; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  return Object.freeze({
    // Every address, IPv6 and (dual-stack) IPv4: probes on an IPv6-only cluster reach it.
    host: raw(env, 'AWNET_HOST') ?? '::',
    port: integer(env, 'AWNET_PORT', 8080, 0, 65535),
    adminPort: adminPort(env),
    docs: bool(env, 'AWNET_DOCS', true),
    serveUnscreened: bool(env, 'AWNET_SERVE_UNSCREENED', false),
    models: Object.freeze(modelPaths(env, cwd)),
    executionProviders: Object.freeze(providers(env)),
    executionProvidersSet: raw(env, 'AWNET_EXECUTION_PROVIDERS') !== undefined,
    workers: integer(env, 'AWNET_WORKERS', 1, 1, 64),
    intraOpThreads: integer(env, 'AWNET_INTRA_OP_THREADS', 1, 1, 256),
    maxBatchSize: integer(env, 'AWNET_MAX_BATCH_SIZE', 32, 1, 1024),
    maxBatchDelayMs: integer(env, 'AWNET_MAX_BATCH_DELAY_MS', 2, 0, 1000),
    queueLimit: integer(env, 'AWNET_QUEUE_LIMIT', 512, 1, 1_000_000),
    requestTimeoutMs: integer(env, 'AWNET_REQUEST_TIMEOUT_MS', 10_000, 1, 600_000),
    bodyLimitBytes: integer(env, 'AWNET_BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    maxFiles: integer(env, 'AWNET_MAX_FILES', 16, 1, 1024),
    maxInputPixels: integer(env, 'AWNET_MAX_INPUT_PIXELS', 4096 * 4096, 1, 1_000_000_000),
    flagThreshold: fraction(env, 'AWNET_FLAG_THRESHOLD'),
    flaggedWindowSeconds: integer(env, 'AWNET_FLAGGED_WINDOW_SECONDS', 300, 1, 86_400),
    shutdownGraceMs: integer(env, 'AWNET_SHUTDOWN_GRACE_MS', 25_000, 0, 600_000),
    livenessGraceSeconds: integer(env, 'AWNET_LIVENESS_GRACE_SECONDS', 60, 1, 3600),
    logLevel: oneOf(env, 'AWNET_LOG_LEVEL', LOG_LEVELS, 'info'),
    queryAttack: queryAttackConfig(env),
    evidence: evidenceConfig(env, cwd),
  });
}

/**
 * Variables other servers read that this one does not. A plain PORT would otherwise be ignored
 * without a word, and the service found on 8080 instead of where it was asked to listen.
 */
export function unreadLookalikes(env: Env = process.env): { readonly variable: string; readonly instead: ConfigKey }[] {
  const pairs = [
    ['PORT', 'AWNET_PORT'],
    ['HOST', 'AWNET_HOST'],
  ] as const;
  return pairs.filter(([variable, instead]) => env[variable] !== undefined && env[instead] === undefined).map(([variable, instead]) => ({ variable, instead }));
}
