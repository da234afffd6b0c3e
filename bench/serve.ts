import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { encodeImage } from '../src/server/image.js';
import { InferencePool } from '../src/server/inference/inference-pool.js';
import { readModelMetadata } from '../src/server/inference/model-metadata.js';
import { repoRoot } from '../src/server/repo-root.js';
import { runCapacity } from './capacity.js';
import { writeCrossKeyReport } from './cross-key.js';
import { writeQueryAttackReport } from './query-attack.js';
import { load, medianRows, median, startTarget } from './serve-load.js';
import { renderSummary } from './serve-report.js';
import type { LoadResult, ServeReport } from './serve-report.js';

// npm run bench: the service's four measurements in one run (see bench/reports/serve.md).

const program = new Command()
  .description('Benchmark the inference service against its ceilings and the naive design.')
  .option('--model <file>', 'ONNX model to serve', path.join(repoRoot(), 'models/fmnist-tiny-awnet.onnx'))
  .option('--duration <seconds>', 'seconds per load measurement', (v) => Number(v), 8)
  .option('--rounds <n>', 'rounds over all measurements; the report gives the median', (v) => Number(v), 3)
  .option('--warmup <seconds>', 'load before each server is measured (0: none)', (v) => Number(v), 2)
  .option('--out <dir>', 'where serve.json and serve.md go', path.join(repoRoot(), 'bench/reports'))
  .option('--images <n>', 'distinct Fashion-MNIST test images to send', (v) => Number(v), 256)
  .option('--workers <n>', 'AWNET_WORKERS of the service', (v) => Number(v), 1)
  .option('--intra-op-threads <n>', 'AWNET_INTRA_OP_THREADS (service, naive and model ceiling)', (v) => Number(v), 1)
  .option('--max-batch-size <n>', 'AWNET_MAX_BATCH_SIZE of the service', (v) => Number(v), 32)
  .option('--max-batch-delay-ms <n>', 'AWNET_MAX_BATCH_DELAY_MS of the service', (v) => Number(v), 2)
  .option('--capacity', 'measure instead what one CPU pod serves (images/s, p99) for the shipped model and a paper-scale cifar10-resnet18 export, with the cpu overlay\'s settings; writes capacity.json and capacity.md')
  .option('--capacity-models <files>', 'with --capacity: comma-separated ONNX files instead of the default two')
  .option('--query-attack', 'measure instead what query-attack detection costs per request and what it catches (the Square Attack over HTTP next to a clean client); writes query-attack.json')
  .option('--cross-key', 'measure instead, in process, whether honest traffic (distinct images from many keys, popular images sent unchanged or re-encoded) sets off query detection across client keys, and how soon it catches a Square Attack under a new key per query; writes cross-key.json')
  .parse();
const opts = program.opts<{
  model: string;
  duration: number;
  rounds: number;
  warmup: number;
  out: string;
  images: number;
  workers: number;
  intraOpThreads: number;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  capacity?: boolean;
  capacityModels?: string;
  queryAttack?: boolean;
  crossKey?: boolean;
}>();

if (opts.crossKey) {
  await writeCrossKeyReport(opts.out);
  process.exit(0);
}

if (opts.queryAttack) {
  await writeQueryAttackReport({ model: opts.model, out: opts.out, targets: 16, queries: 300, cleanImages: 300, loadSeconds: opts.duration });
  process.exit(0);
}

if (opts.capacity) {
  await runCapacity({
    models: opts.capacityModels?.split(',').map((f) => path.resolve(f)),
    durationSeconds: opts.duration,
    rounds: opts.rounds,
    warmupSeconds: opts.warmup,
    distinctImages: opts.images,
    out: opts.out,
    settings: { workers: opts.workers, intraOpThreads: opts.intraOpThreads, maxBatchSize: opts.maxBatchSize, maxBatchDelayMs: opts.maxBatchDelayMs },
  });
  process.exit(0);
}

if (!existsSync(opts.model)) {
  process.stderr.write(`bench: no model at ${opts.model}; export one (awnet export) or pass --model\n`);
  process.exit(2);
}

// The settings every server under test runs with: the service's defaults, quiet logs.
const serviceEnv: Record<string, string> = {
  AWNET_MODELS: opts.model,
  AWNET_EXECUTION_PROVIDERS: 'cpu',
  AWNET_LOG_LEVEL: 'warn',
  AWNET_QUEUE_LIMIT: '4096',
};
const settings = { workers: opts.workers, intraOpThreads: opts.intraOpThreads, maxBatchSize: opts.maxBatchSize, maxBatchDelayMs: opts.maxBatchDelayMs };

const metadata = await readModelMetadata(opts.model);
const { channels, height, width } = metadata.input;
if (channels !== 1 || height !== 28 || width !== 28) throw new Error('the benchmark sends Fashion-MNIST images: it needs a 1×28×28 model');

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Real Fashion-MNIST test images as PNG uploads. */
async function uploads(n: number): Promise<Buffer[]> {
  const data = await loadFashionMnist({ split: 'test', limit: n });
  const per = 28 * 28;
  return Promise.all(
    Array.from({ length: n }, (_, i) => {
      const bytes = Uint8Array.from(data.images.subarray(i * per, (i + 1) * per), (v) => Math.round(v * 255));
      return encodeImage(bytes, { channels: 1, height: 28, width: 28 }, 'png');
    }),
  );
}

/** (1) onnxruntime alone in one worker thread, fed back to back. */
async function modelCeiling(seconds: number): Promise<Record<string, number>> {
  const pool = await InferencePool.start({ file: opts.model, providers: ['cpu'], intraOpThreads: settings.intraOpThreads, workers: 1, shape: metadata.input, log: () => {} });
  const out: Record<string, number> = {};
  try {
    for (const batch of [1, 8, 32]) {
      const template = new Float32Array(batch * height * width).map((_, i) => ((i * 2654435761) % 256) / 255);
      // Each run moves its buffer to the worker, so every run gets a copy.
      for (let i = 0; i < 10; i++) await pool.run(template.slice(), batch);
      let images = 0;
      const started = performance.now();
      while (performance.now() - started < seconds * 1000) {
        await pool.run(template.slice(), batch);
        images += batch;
      }
      out[`batch${batch}`] = images / ((performance.now() - started) / 1000);
      log(`model ceiling, batch ${batch}: ${out[`batch${batch}`]!.toFixed(0)} images/s`);
    }
  } finally {
    await pool.close();
  }
  return out;
}

/** Warms a server up, then measures it at each concurrency. */
async function measure(mode: 'service' | 'http-ceiling' | 'naive', concurrencies: number[], bodies: Buffer[]): Promise<LoadResult[]> {
  const target = await startTarget(mode, { ...serviceEnv, AWNET_WORKERS: String(settings.workers), AWNET_INTRA_OP_THREADS: String(settings.intraOpThreads), AWNET_MAX_BATCH_SIZE: String(settings.maxBatchSize), AWNET_MAX_BATCH_DELAY_MS: String(settings.maxBatchDelayMs) });
  try {
    if (opts.warmup > 0) await load(target.url, 8, opts.warmup, bodies);
    const results: LoadResult[] = [];
    for (const c of concurrencies) {
      const r = await load(target.url, c, opts.duration, bodies);
      log(`${mode}, concurrency ${c}: ${r.imagesPerSecond.toFixed(0)} images/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}, errors ${r.errors}`);
      results.push(r);
    }
    return results;
  } finally {
    await target.stop();
  }
}

const started = new Date();
const loadBefore = os.loadavg();
const bodies = await uploads(opts.images);
// Rounds interleave the designs, so that a change in the machine's other load hits all of them alike.
const rounds: { modelCeiling: Record<string, number>; httpCeiling: LoadResult[]; service: LoadResult[]; naive: LoadResult[] }[] = [];
for (let round = 1; round <= opts.rounds; round++) {
  log(`round ${round} of ${opts.rounds}`);
  rounds.push({
    modelCeiling: await modelCeiling(opts.duration / 2),
    httpCeiling: await measure('http-ceiling', [64], bodies),
    service: await measure('service', [1, 8, 64], bodies),
    naive: await measure('naive', [1, 8, 64], bodies),
  });
}
const model = Object.fromEntries(Object.keys(rounds[0]!.modelCeiling).map((k) => [k, median(rounds.map((r) => r.modelCeiling[k]!))]));
const http = medianRows(rounds.map((r) => r.httpCeiling));
const service = medianRows(rounds.map((r) => r.service));
const naive = medianRows(rounds.map((r) => r.naive));

const at = (rows: LoadResult[], c: number) => rows.find((r) => r.connections === c)!;
const modelBest = Math.max(...Object.values(model));
const lowerCeiling = Math.min(modelBest, at(http, 64).imagesPerSecond);
const service64 = at(service, 64).imagesPerSecond;
const report: ServeReport = {
  started: started.toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg() },
  model: { file: opts.model.startsWith(repoRoot() + path.sep) ? path.relative(repoRoot(), opts.model) : path.resolve(opts.model), name: metadata.name, version: metadata.version },
  settings: { ...settings, executionProvider: 'cpu', durationSeconds: opts.duration, rounds: opts.rounds, distinctImages: opts.images, upload: 'PNG, 28×28 grey, raw body (image/png)' },
  modelCeiling: model,
  httpCeiling: http,
  service,
  naive,
  rounds,
  goals: [
    {
      goal: 'service at concurrency 64 ≥ 70 % of the lower ceiling',
      target: 0.7 * lowerCeiling,
      reached: service64,
      met: service64 >= 0.7 * lowerCeiling,
    },
    {
      goal: "service at concurrency 64 ≥ 3× the naive design's",
      target: 3 * at(naive, 64).imagesPerSecond,
      reached: service64,
      met: service64 >= 3 * at(naive, 64).imagesPerSecond,
    },
    {
      goal: "service p99 at concurrency 8 ≤ the naive design's (ms)",
      target: at(naive, 8).p99Ms,
      reached: at(service, 8).p99Ms,
      met: at(service, 8).p99Ms <= at(naive, 8).p99Ms,
    },
  ],
};
await mkdir(opts.out, { recursive: true });
await writeFile(path.join(opts.out, 'serve.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(opts.out, 'serve.md'), renderSummary(report));
log(`wrote ${path.join(opts.out, 'serve.json')} and serve.md`);
process.stdout.write(renderSummary(report));
