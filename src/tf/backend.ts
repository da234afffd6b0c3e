import * as tf from '@tensorflow/tfjs';
import { installWasmTrainingKernels } from './wasm-kernels.js';

/**
 * Chooses and starts the TensorFlow.js backend. This is the only module that imports
 * a backend package; everything else uses `@tensorflow/tfjs`.
 *
 * Default order: tfjs-node-gpu (CUDA) → tfjs-node (libtensorflow on the CPU) → wasm
 * (XNNPACK, plus this project's training kernels) → cpu (plain JS, far too slow to
 * train with, kept as the last resort).
 */

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
export const BACKEND_ENV_VAR = 'AWNET_TF_BACKEND';

export interface InitBackendOptions {
  /** Force one backend; overrides AWNET_TF_BACKEND. */
  readonly backend?: BackendName;
  /** Where to log which backend runs (and why others were skipped); default stderr. */
  readonly log?: (line: string) => void;
}

export interface BackendInfo {
  /** One of BACKEND_NAMES. */
  readonly backend: string;
  /** The package that provides it. */
  readonly source: string;
}

export class BackendError extends Error {
  readonly code = 'AWNET_TF_BACKEND_UNAVAILABLE';
  /** The backend's package is not installed (the native ones are optional dependencies). */
  readonly notInstalled: boolean;
  constructor(message: string, options?: { cause?: unknown; notInstalled?: boolean }) {
    super(message, options);
    this.name = 'BackendError';
    this.notInstalled = options?.notInstalled ?? false;
  }
}

/** Whether importing `source` failed because the package itself is absent, not because it broke. */
function packageMissing(err: unknown, source: string): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND' && describe(err).includes(`'${source}'`);
}

interface Candidate {
  readonly name: BackendName;
  readonly source: string;
  /** The name the package registers with tfjs. */
  readonly tfName: string;
}

const CANDIDATES: Readonly<Record<BackendName, Candidate>> = {
  'tensorflow-gpu': { name: 'tensorflow-gpu', source: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  tensorflow: { name: 'tensorflow', source: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  wasm: { name: 'wasm', source: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  cpu: { name: 'cpu', source: '@tensorflow/tfjs-backend-cpu (bundled with @tensorflow/tfjs)', tfName: 'cpu' },
};

let active: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

function parseBackendName(value: string, origin: string): BackendName {
  const name = value.trim() as BackendName;
  if (!BACKEND_NAMES.includes(name)) {
    throw new BackendError(
      `${origin} is '${value}', which is not a TensorFlow.js backend this project knows; use one of: ${BACKEND_NAMES.join(', ')}`,
    );
  }
  return name;
}

/** The backend requested by the option or by AWNET_TF_BACKEND, if any. */
export function requestedBackend(options: InitBackendOptions = {}): BackendName | undefined {
  if (options.backend !== undefined) return parseBackendName(options.backend, 'the backend option');
  const fromEnv = process.env[BACKEND_ENV_VAR];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseBackendName(fromEnv, BACKEND_ENV_VAR);
  return undefined;
}

async function importPackage(specifier: string): Promise<void> {
  // A computed specifier: the native packages are optional and may be absent.
  await import(specifier);
}

/** Loads and selects one backend, throwing a BackendError that says why it failed. */
async function start(candidate: Candidate): Promise<string> {
  const details: string[] = [];
  try {
    if (candidate.name !== 'cpu') await importPackage(candidate.source);
  } catch (err) {
    if (packageMissing(err, candidate.source)) throw new BackendError(`${candidate.source} is not installed`, { cause: err, notInstalled: true });
    throw new BackendError(`cannot load ${candidate.source}: ${describe(err)}`, { cause: err });
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(candidate.tfName);
    await tf.ready();
  } catch (err) {
    throw new BackendError(`${candidate.source} failed to initialise: ${describe(err)}`, { cause: err });
  }
  if (!ok || tf.getBackend() !== candidate.tfName) {
    throw new BackendError(`${candidate.source} loaded but tfjs could not select backend '${candidate.tfName}'`);
  }
  if (candidate.name === 'wasm') {
    installWasmTrainingKernels();
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    details.push(`SIMD ${simd ? 'on' : 'off'}`, threads ? 'multi-threaded' : 'one thread', 'fast training kernels installed');
  }
  return details.length > 0 ? ` (${details.join(', ')})` : '';
}

async function choose(options: InitBackendOptions): Promise<BackendInfo> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const forced = requestedBackend(options);
  const order = forced !== undefined ? [forced] : BACKEND_NAMES;
  // Absent optional packages are the normal case (npm skips the native backends where they
  // cannot install), so they are named plainly; a backend that is there but fails says why.
  const absent: string[] = [];
  const failed: string[] = [];
  for (const name of order) {
    const candidate = CANDIDATES[name];
    try {
      const details = await start(candidate);
      const how = [
        ...(forced !== undefined ? ['forced'] : []),
        ...(absent.length > 0 ? [`${absent.join(' and ')} not installed`] : []),
        ...failed,
      ];
      log(`tfjs backend: ${name} from ${candidate.source}${details}${how.length > 0 ? ` [${how.join('; ')}]` : ''}`);
      return { backend: name, source: candidate.source };
    } catch (err) {
      if (forced !== undefined) {
        throw new BackendError(`TensorFlow.js backend '${name}' was requested but is unavailable: ${describe(err)}`, {
          cause: err,
        });
      }
      if (err instanceof BackendError && err.notInstalled) absent.push(name);
      else failed.push(`${name} failed: ${describe(err)}`);
    }
  }
  throw new BackendError(`no TensorFlow.js backend could start: ${[...absent.map((n) => `${n} not installed`), ...failed].join('; ')}`);
}

/**
 * Starts the best available backend, or the forced one. Idempotent: later calls
 * return the running backend unless they force a different one.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const forced = requestedBackend(options);
  if (pending !== null) {
    const current = await pending.catch(() => null);
    if (current !== null && (forced === undefined || forced === current.backend)) {
      if (tf.getBackend() === CANDIDATES[current.backend as BackendName].tfName) return current;
    }
  }
  pending = choose(options).then((info) => {
    active = info;
    return info;
  });
  return pending;
}

/** The backend started by initBackend, or null before it ran. */
export function activeBackend(): BackendInfo | null {
  return active;
}
