import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigOverrides } from '../../src/model/presets.js';
import { onCore } from '../core-pool.js';
import { TRAIN_DEFAULTS, type TrainSettings } from '../../src/train/settings.js';

/** The repository root, found from this file (run from dist/test/train). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test file');
    dir = up;
  }
  return dir;
}

export const CLI = join(repoRoot(), 'dist', 'src', 'cli', 'index.js');

/** A narrow fmnist-tiny and a short attack, so a step takes tens of milliseconds. */
export const TINY_MODEL_ARGS = ['--stem', '8', '--widths', '8,16,16', '--router-stem', '4', '--router-widths', '4,8,8'];

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `awnet-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the CLI; `done` settles when it exits. The wasm backend is forced for repeatability. */
export function startCli(args: readonly string[]): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, AWNET_TF_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs the CLI to its exit, when a core is free of the other runs this file started with runCli. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  return onCore(() => startCli(args).done);
}

export interface CheckpointSummary {
  readonly epoch: number;
  readonly step: number;
  readonly sha256: string;
  readonly trainerState: { epoch: number; stepInEpoch: number; globalStep: number } & Record<string, unknown>;
}

/** checkpoint.json of a checkpoint directory, or null while none is complete. */
export function readCheckpoint(dir: string): CheckpointSummary | null {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as {
      epoch: number;
      step: number;
      weights: { sha256: string };
      trainerState: CheckpointSummary['trainerState'];
    };
    return { epoch: meta.epoch, step: meta.step, sha256: meta.weights.sha256, trainerState: meta.trainerState };
  } catch {
    return null;
  }
}

export function readLog(runDir: string): Record<string, unknown>[] {
  return readFileSync(join(runDir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Settings a command line would resolve with every option at its default (fashion-mnist, eps 0.1). */
export function defaultSettings(out: string): TrainSettings {
  return {
    ...TRAIN_DEFAULTS,
    overrides: {},
    dataDir: null,
    limit: null,
    skipCorrupt: false,
    valSize: null,
    eps: 0.1,
    attackStepSize: 0.05,
    attackNoise: 0.1,
    augment: true,
    initFrom: null,
    teacherClean: null,
    teacherAdv: null,
    out,
  };
}

/** One epoch on 64 images with one-step attacks: a run in seconds, for tests of what a run does rather than what it learns. */
export function tinyRunSettings(out: string, overrides: ConfigOverrides): TrainSettings {
  return {
    ...defaultSettings(out),
    overrides,
    limit: 64,
    valSize: 16,
    valPgdSize: 8,
    valAttackSteps: 1,
    valSquareQueries: 5,
    batchSize: 24,
    epochs: 1,
    attackSteps: 1,
    attackStepSize: 0.1,
    augment: false,
    checkpointEvery: 0,
  };
}
