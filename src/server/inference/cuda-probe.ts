import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ExecutionProvider } from '../config.js';

/**
 * Whether onnxruntime's CUDA execution provider can load here, decided from files alone.
 * Asking onnxruntime instead makes it print red "FAIL … cannot open shared object" lines on
 * every CPU-only start, before the service could say anything; so the provider is requested
 * only where its libraries, and the libraries they link against, can be found.
 */
export const PROVIDER_LIBRARIES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;

/** What the probe may look at; the real machine's by default, fakes in tests. */
export interface ProbeEnv {
  readonly platform: NodeJS.Platform;
  /** Where onnxruntime-node keeps its binding and provider libraries. */
  readonly providerDir: string;
  /** Folders the dynamic loader searches: LD_LIBRARY_PATH, then the system's. */
  readonly searchDirs: readonly string[];
  /** Library names the loader's cache (ldconfig -p) knows. */
  readonly cached: ReadonlySet<string>;
  readonly exists: (file: string) => boolean;
  /** The DT_NEEDED names of an ELF shared library, or null when it cannot be read as one. */
  readonly needed: (file: string) => readonly string[] | null;
}

export interface ProbeResult {
  readonly usable: boolean;
  readonly reason: string;
}

export function probeCuda(env: ProbeEnv): ProbeResult {
  // Elsewhere (Windows) onnxruntime's own loading is the only authority.
  if (env.platform !== 'linux') return { usable: true, reason: `no probe on ${env.platform}; onnxruntime decides` };
  for (const lib of PROVIDER_LIBRARIES) {
    if (!env.exists(path.join(env.providerDir, lib))) {
      return {
        usable: false,
        reason: `${lib} is not in ${env.providerDir}: onnxruntime-node was installed without its CUDA provider (npm run install:cuda adds it)`,
      };
    }
  }
  const cudaLib = path.join(env.providerDir, 'libonnxruntime_providers_cuda.so');
  const needed = env.needed(cudaLib);
  if (needed === null) return { usable: false, reason: `${cudaLib} is not a readable ELF shared library` };
  const dirs = [env.providerDir, ...env.searchDirs];
  const missing = needed.filter((name) => !env.cached.has(name) && !dirs.some((d) => env.exists(path.join(d, name))));
  if (missing.length > 0) {
    return {
      usable: false,
      reason: `libonnxruntime_providers_cuda.so needs ${missing.join(', ')}, which the dynamic loader cannot find (install the CUDA 12 runtime and cuDNN 9, or add their folder to LD_LIBRARY_PATH)`,
    };
  }
  return { usable: true, reason: `the CUDA provider and the ${needed.length} libraries it links against are installed` };
}

/** DT_NEEDED entries of a 64-bit little-endian ELF file, read piecewise (the CUDA provider is hundreds of MB). */
export function elfNeeded(read: (offset: number, length: number) => Buffer): string[] | null {
  const header = read(0, 64);
  if (header.length < 64 || header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return null;
  const shoff = Number(header.readBigUInt64LE(0x28));
  const shentsize = header.readUInt16LE(0x3a);
  const shnum = header.readUInt16LE(0x3c);
  const section = (i: number): Buffer => read(shoff + i * shentsize, shentsize);
  for (let i = 0; i < shnum; i++) {
    const sh = section(i);
    if (sh.length < 64 || sh.readUInt32LE(4) !== 6) continue; // SHT_DYNAMIC
    const dynamic = read(Number(sh.readBigUInt64LE(0x18)), Number(sh.readBigUInt64LE(0x20)));
    const strtab = section(sh.readUInt32LE(0x28));
    const strOffset = Number(strtab.readBigUInt64LE(0x18));
    const strings = read(strOffset, Number(strtab.readBigUInt64LE(0x20)));
    const names: string[] = [];
    for (let at = 0; at + 16 <= dynamic.length; at += 16) {
      const tag = dynamic.readBigInt64LE(at);
      if (tag === 0n) break;
      if (tag !== 1n) continue; // DT_NEEDED
      const start = Number(dynamic.readBigUInt64LE(at + 8));
      const end = strings.indexOf(0, start);
      names.push(strings.toString('latin1', start, end < 0 ? undefined : end));
    }
    return names;
  }
  return [];
}

function neededOf(file: string): string[] | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    return elfNeeded((offset, length) => {
      const buffer = Buffer.alloc(length);
      return buffer.subarray(0, readSync(fd, buffer, 0, length, offset));
    });
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function loaderCache(): Set<string> {
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const result = spawnSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 5000 });
    if (result.status === 0) return new Set([...result.stdout.matchAll(/^\s+(\S+) \(/gm)].map((m) => m[1]!));
  }
  return new Set();
}

/** The machine this process runs on. */
export function systemProbeEnv(): ProbeEnv {
  const ortMain = createRequire(import.meta.url).resolve('onnxruntime-node');
  const multiarch = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  return {
    platform: process.platform,
    providerDir: path.join(path.dirname(ortMain), '..', 'bin', 'napi-v6', process.platform, process.arch),
    searchDirs: [
      ...(process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter((d) => d !== ''),
      `/lib/${multiarch}`,
      `/usr/lib/${multiarch}`,
      '/lib64',
      '/usr/lib64',
      '/lib',
      '/usr/lib',
      '/usr/local/cuda/lib64',
    ],
    cached: loaderCache(),
    exists: existsSync,
    needed: neededOf,
  };
}

export interface ProviderChoice {
  /** The providers handed to onnxruntime, in order. */
  readonly providers: readonly ExecutionProvider[];
  /** One line for the log: which provider runs and why. */
  readonly line: string;
}

/**
 * Drops cuda from the configured list when the probe says it cannot load, so onnxruntime is
 * never asked for it on a CPU-only machine. A list of cuda alone is kept: asking is then the
 * only way to fail with onnxruntime's own words.
 */
export function chooseProviders(configured: readonly ExecutionProvider[], probe: ProbeResult): ProviderChoice {
  if (probe.usable) return { providers: configured, line: `execution provider cuda requested first: ${probe.reason}` };
  const rest = configured.filter((p) => p !== 'cuda');
  if (rest.length === 0) return { providers: configured, line: `execution provider cuda is the only one configured, so it is tried although ${probe.reason}` };
  return { providers: rest, line: `execution provider ${rest[0]} runs the models, not cuda: ${probe.reason}` };
}

let probed: ProbeResult | undefined;
const told = new WeakSet<object>();

/**
 * The providers to hand to onnxruntime. The machine is probed once per process; each log
 * (one per service) hears the decision once — unless CUDA is missing and was not asked for
 * by name (`set` false: the default list), where a CPU-only machine should start quietly.
 */
export function runnableProviders(configured: readonly ExecutionProvider[], set: boolean, log: { info(line: string): void }): readonly ExecutionProvider[] {
  if (!configured.includes('cuda')) return configured;
  probed ??= probeCuda(systemProbeEnv());
  const choice = chooseProviders(configured, probed);
  if (!told.has(log) && (set || probed.usable)) {
    told.add(log);
    log.info(choice.line);
  }
  return choice.providers;
}
