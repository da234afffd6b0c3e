import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { buildApp } from '../src/server/app.js';
import { ClientKeys } from '../src/server/query-attack/client-key.js';
import { loadConfig, type QueryAttackAction } from '../src/server/config.js';
import { HASHES } from '../src/server/query-attack/query-fingerprint.js';
import { repoRoot } from '../src/server/repo-root.js';
import { fingerprintFigures, StreamJudge, type FingerprintFigures } from './query-attack-fingerprints.js';
import { ATTACKER, CLEAN, KEY_HEADER, pickTargets, runClean, runSquare, testImages, type AttackRun, type CleanRun } from './query-attack-traffic.js';
import { load, startTarget } from './serve-load.js';
import type { LoadResult } from './serve-report.js';

// npm run bench -- --query-attack (or node dist/bench/query-attack.js): what per-client
// query-attack detection costs and what it catches, written to query-attack.json.
// docs/query-attacks.md quotes these figures.

export interface QueryAttackBenchOptions {
  readonly model: string;
  /** Where query-attack.json goes. */
  readonly out: string;
  readonly targets: number;
  readonly queries: number;
  readonly cleanImages: number;
  /** Seconds of load per overhead measurement; 0 skips them. */
  readonly loadSeconds: number;
}

interface Scenario {
  readonly action: QueryAttackAction;
  readonly attack: AttackRun;
  readonly clean: CleanRun;
  readonly attackerSuspectedAfter: number;
  readonly cleanEverSuspected: boolean;
  readonly bytesHeld: number;
}

/** The server's key salt too, so that the keys computed here are the server's. */
const KEY_SALT = 'bench-query-attack';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function scenario(options: QueryAttackBenchOptions, action: 'header' | 'throttle', x: Float32Array, labels: Int32Array, clean: readonly Buffer[], judge?: StreamJudge): Promise<Scenario> {
  const config = loadConfig({ AWNET_MODELS: options.model, AWNET_EXECUTION_PROVIDERS: 'cpu', AWNET_QUERY_ATTACK_ACTION: action, AWNET_CLIENT_KEY_HEADER: KEY_HEADER, AWNET_CLIENT_KEY_SALT: KEY_SALT });
  const app = await buildApp({ config, registry: new Registry(), logger: false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const name = path.basename(options.model, '.onnx');
    const [attack, cleanRun] = await Promise.all([runSquare(url, name, x, labels, options.queries, judge?.observe), runClean(url, name, clean)]);
    const keys = new ClientKeys(KEY_HEADER, [], KEY_SALT);
    const memory = app.queryGuard.memory!;
    const result: Scenario = {
      action,
      attack,
      clean: cleanRun,
      attackerSuspectedAfter: memory.peek(keys.of({ [KEY_HEADER]: ATTACKER }, '').hash)?.suspectedAfter ?? 0,
      cleanEverSuspected: (memory.peek(keys.of({ [KEY_HEADER]: CLEAN }, '').hash)?.suspectedAfter ?? 0) > 0,
      bytesHeld: memory.bytes,
    };
    log(`${action}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await app.close();
  }
}

/** Images/s and latency of the service with detection off and observing, one PNG per request from one address. */
async function overhead(options: QueryAttackBenchOptions, bodies: Buffer[]): Promise<Record<string, LoadResult>> {
  const out: Record<string, LoadResult> = {};
  for (const action of ['off', 'observe', 'off', 'observe'] as const) {
    const target = await startTarget('service', { AWNET_MODELS: options.model, AWNET_EXECUTION_PROVIDERS: 'cpu', AWNET_LOG_LEVEL: 'warn', AWNET_QUERY_ATTACK_ACTION: action });
    try {
      await load(target.url, 8, 1, bodies);
      const r = await load(target.url, 8, options.loadSeconds, bodies);
      log(`detection ${action}: ${r.imagesPerSecond.toFixed(0)} images/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
      // Two rounds interleaved; the better of each, so that other load on the machine counts less.
      if (!out[action] || r.imagesPerSecond > out[action].imagesPerSecond) out[action] = r;
    } finally {
      await target.stop();
    }
  }
  return out;
}

export async function runQueryAttackBench(options: QueryAttackBenchOptions): Promise<Record<string, unknown>> {
  const started = new Date();
  log('fingerprints of distinct test images (in process)');
  const fingerprints: FingerprintFigures = await fingerprintFigures();
  log(JSON.stringify(fingerprints));

  const picker = loadConfig({ AWNET_MODELS: options.model, AWNET_EXECUTION_PROVIDERS: 'cpu', AWNET_QUERY_ATTACK_ACTION: 'off' });
  const pickApp = await buildApp({ config: picker, registry: new Registry(), logger: false });
  const pickUrl = await pickApp.listen({ host: '127.0.0.1', port: 0 });
  const targets = await pickTargets(pickUrl, path.basename(options.model, '.onnx'), options.targets, 96).finally(() => pickApp.close());
  const { pngs } = await testImages(5000, options.cleanImages);

  const judge = new StreamJudge(28 * 28);
  const open = await scenario(options, 'header', targets.x, targets.labels, pngs, judge);
  const throttled = await scenario(options, 'throttle', targets.x, targets.labels, pngs);
  const loadFigures = options.loadSeconds > 0 ? await overhead(options, (await testImages(0, 256)).pngs) : undefined;

  return {
    started: started.toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: os.loadavg() },
    model: path.relative(repoRoot(), options.model) || options.model,
    settings: { eps: 0.1, targets: targets.labels.length, queriesPerTarget: options.queries, cleanImages: options.cleanImages, threshold: 10, windowSeconds: 600, history: 128 },
    fingerprints,
    attackStream: { queries: judge.queries, nearDuplicates: judge.nearDuplicates, fraction: judge.nearDuplicates / Math.max(1, judge.queries), suspectedAfter: judge.suspectedAfter },
    open,
    throttled,
    memory: { bytesPerQuery: HASHES * 4 + 14, bytesPerClientAtDefaultHistory: 128 * (HASHES * 4 + 14), worstCaseAtDefaults: 4096 * 128 * (HASHES * 4 + 14) },
    ...(loadFigures ? { load: loadFigures } : {}),
  };
}

/** Runs the benchmark and writes `out`/query-attack.json; returns its path. */
export async function writeQueryAttackReport(options: QueryAttackBenchOptions): Promise<string> {
  const report = await runQueryAttackBench(options);
  await mkdir(options.out, { recursive: true });
  const file = path.join(options.out, 'query-attack.json');
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${file}`);
  return file;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: path.join(repoRoot(), 'models/fmnist-tiny-awnet.onnx') },
      out: { type: 'string', default: path.join(repoRoot(), 'bench/reports') },
      targets: { type: 'string', default: '16' },
      queries: { type: 'string', default: '300' },
      'clean-images': { type: 'string', default: '300' },
      'load-seconds': { type: 'string', default: '5' },
    },
  });
  const model = path.resolve(values.model);
  if (!existsSync(model)) throw new Error(`no model at ${model}`);
  await writeQueryAttackReport({
    model,
    out: values.out,
    targets: Number(values.targets),
    queries: Number(values.queries),
    cleanImages: Number(values['clean-images']),
    loadSeconds: Number(values['load-seconds']),
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
