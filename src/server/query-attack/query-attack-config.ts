import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { bool, ConfigError, integer, oneOf, raw, type Env } from '../config-values.js';

export const QUERY_ATTACK_ACTIONS = ['off', 'observe', 'header', 'throttle'] as const;
export type QueryAttackAction = (typeof QUERY_ATTACK_ACTIONS)[number];

/** Near-duplicate detection across client keys (docs/query-attacks.md#across-client-keys). */
export interface CrossKeyConfig {
  readonly enabled: boolean;
  /** Distinct near-duplicate images within the window that make a cluster suspected. */
  readonly threshold: number;
  /** Distinct client keys they must come from. */
  readonly minClients: number;
  /** Images remembered from all clients together. */
  readonly memory: number;
}

/** Per-client query-attack detection (docs/query-attacks.md). */
export interface QueryAttackConfig {
  readonly action: QueryAttackAction;
  /** Near-duplicate queries within the window that make a client suspected. */
  readonly threshold: number;
  readonly windowSeconds: number;
  /** Queries remembered per client. */
  readonly history: number;
  readonly maxClients: number;
  /** Lower-case header whose (hashed) value keys a client, e.g. an API key; undefined: the address. */
  readonly clientKeyHeader: string | undefined;
  /** Addresses and CIDR ranges whose X-Forwarded-For is believed. */
  readonly trustedProxies: readonly string[];
  /** Clients connect to the service itself (no proxy): their peer address is theirs, so throttle may key by it. */
  readonly directClients: boolean;
  /**
   * Secret the client keys are an HMAC under, so that a key in a log or an evidence file
   * cannot be turned back into an address by hashing every IPv4 address. Undefined: a
   * random one per process (keys then differ between pods and restarts).
   */
  readonly keySalt: string | undefined;
  readonly crossKey: CrossKeyConfig;
}

export interface EvidenceConfig {
  /** Undefined: no evidence is written. */
  readonly dir: string | undefined;
  readonly maxBytes: number;
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

function headerName(env: Env): string | undefined {
  const text = raw(env, 'AWNET_CLIENT_KEY_HEADER')?.toLowerCase();
  if (text !== undefined && !HEADER_NAME.test(text)) {
    throw new ConfigError('AWNET_CLIENT_KEY_HEADER', `'${text.slice(0, 80)}' is not an HTTP header name; valid: 1 to 64 token characters, e.g. x-api-key`);
  }
  return text;
}

function trustedProxies(env: Env): string[] {
  const text = raw(env, 'AWNET_TRUSTED_PROXIES');
  if (text === undefined) return [];
  const valid = 'a comma-separated list of IP addresses or CIDR ranges (10.0.0.0/8, fd00::/8)';
  return text.split(',').map((entry) => {
    const value = entry.trim();
    const [address = '', prefix, ...rest] = value.split('/');
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || rest.length > 0) throw new ConfigError('AWNET_TRUSTED_PROXIES', `'${value}' is not valid; valid: ${valid}`);
    return value;
  });
}

function evidenceDir(env: Env, cwd: string): string | undefined {
  const text = raw(env, 'AWNET_EVIDENCE_DIR');
  if (text === undefined) return undefined;
  const dir = path.resolve(cwd, text);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError('AWNET_EVIDENCE_DIR', `${dir} does not exist or is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new ConfigError('AWNET_EVIDENCE_DIR', `${dir} is not writable by this process`);
  }
  return dir;
}

/** The detector's settings; defaults in docs/api.md. */
export function queryAttackConfig(env: Env): QueryAttackConfig {
  const action = oneOf(env, 'AWNET_QUERY_ATTACK_ACTION', QUERY_ATTACK_ACTIONS, 'observe');
  const clientKeyHeader = headerName(env);
  const proxies = trustedProxies(env);
  const directClients = bool(env, 'AWNET_DIRECT_CLIENTS', false);
  // Behind an ingress or a sidecar every request comes from the same peer: keyed by it, one
  // suspected client would get every client throttled.
  if (action === 'throttle' && clientKeyHeader === undefined && proxies.length === 0 && !directClients) {
    throw new ConfigError(
      'AWNET_QUERY_ATTACK_ACTION',
      "'throttle' would key clients by the connection's peer address, which is the proxy's for every client behind one; valid: throttle with AWNET_TRUSTED_PROXIES (the proxies' addresses) or AWNET_CLIENT_KEY_HEADER set, or with AWNET_DIRECT_CLIENTS=true where clients connect to the service directly; or observe",
    );
  }
  return Object.freeze({
    action,
    threshold: integer(env, 'AWNET_QUERY_ATTACK_THRESHOLD', 10, 2, 100_000),
    windowSeconds: integer(env, 'AWNET_QUERY_ATTACK_WINDOW_SECONDS', 600, 1, 86_400),
    history: integer(env, 'AWNET_QUERY_ATTACK_HISTORY', 128, 8, 4096),
    maxClients: integer(env, 'AWNET_QUERY_ATTACK_MAX_CLIENTS', 4096, 1, 1_000_000),
    clientKeyHeader,
    trustedProxies: Object.freeze(proxies),
    directClients,
    keySalt: raw(env, 'AWNET_CLIENT_KEY_SALT'),
    crossKey: Object.freeze({
      enabled: action !== 'off' && bool(env, 'AWNET_QUERY_ATTACK_CROSS_KEY', true),
      threshold: integer(env, 'AWNET_QUERY_ATTACK_CROSS_KEY_THRESHOLD', 100, 2, 100_000),
      minClients: integer(env, 'AWNET_QUERY_ATTACK_CROSS_KEY_CLIENTS', 10, 2, 100_000),
      memory: integer(env, 'AWNET_QUERY_ATTACK_CROSS_KEY_MEMORY', 16_384, 64, 1_000_000),
    }),
  });
}

export function evidenceConfig(env: Env, cwd: string): EvidenceConfig {
  return Object.freeze({
    dir: evidenceDir(env, cwd),
    maxBytes: integer(env, 'AWNET_EVIDENCE_MAX_BYTES', 64 * 1024 * 1024, 64 * 1024, 1024 ** 4),
  });
}
