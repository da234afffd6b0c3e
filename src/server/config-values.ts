import type { ConfigKey } from './config-keys.js';

/** A bad configuration value; the message names the variable and what would be valid. */
export class ConfigError extends Error {
  constructor(
    readonly variable: ConfigKey,
    detail: string,
  ) {
    super(`${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export function raw(env: Env, key: ConfigKey): string | undefined {
  const value = env[key]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function integer(env: Env, key: ConfigKey, fallback: number, min: number, max: number): number {
  const text = raw(env, key);
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new ConfigError(key, `'${text}' is not a whole number; valid: an integer from ${min} to ${max}`);
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new ConfigError(key, `${value} is out of range; valid: an integer from ${min} to ${max}`);
  }
  return value;
}

export function fraction(env: Env, key: ConfigKey): number | undefined {
  const text = raw(env, key);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9.eE+-]+$/.test(text) || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigError(key, `'${text}' is not valid; valid: a number from 0 to 1`);
  }
  return value;
}

export function oneOf<T extends string>(env: Env, key: ConfigKey, allowed: readonly T[], fallback: T): T {
  const text = raw(env, key);
  if (text === undefined) return fallback;
  const value = text.toLowerCase() as T;
  if (!allowed.includes(value)) throw new ConfigError(key, `'${text}' is not valid; valid: ${allowed.join(', ')}`);
  return value;
}

/** A yes/no setting written true or false. */
export function bool(env: Env, key: ConfigKey, fallback: boolean): boolean {
  const text = raw(env, key)?.toLowerCase();
  if (text === undefined) return fallback;
  if (text !== 'true' && text !== 'false') throw new ConfigError(key, `'${text}' is not valid; valid: true, false`);
  return text === 'true';
}
