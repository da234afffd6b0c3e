import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { encodeImage } from '../src/server/image.js';
import { readModelMetadata } from '../src/server/inference/model-metadata.js';
import { repoRoot } from '../src/server/repo-root.js';
import { writeRandomModel } from './random-model.js';
import { load, medianRows, startTarget } from './serve-load.js';
import type { LoadResult } from './serve-report.js';

// npm run bench -- --capacity: what one CPU pod of the cpu overlay serves, per model, so
// that users can size requests, limits and the autoscaler's target (docs/deploy.md,
// "Capacity"). The service runs as in the pod (same settings, one model); autocannon,
// on the same machine, posts one PNG per request at each concurrency.

export interface CapacitySettings {
  readonly workers: number;
  readonly intraOpThreads: number;
  readonly maxBatchSize: number;
  readonly maxBatchDelayMs: number;
}

export interface CapacityOptions {
  /** ONNX files; default the shipped model and a random-weights cifar10-resnet18 export. */
  readonly models?: readonly string[] | undefined;
  readonly durationSeconds: number;
  readonly rounds: number;
  readonly warmupSeconds: number;
  readonly distinctImages: number;
  readonly out: string;
  readonly settings: CapacitySettings;
}

/** Concurrencies measured; 32 is the images in flight per pod the KEDA overlays aim at. */
export const CAPACITY_CONCURRENCIES = [1, 8, 32, 64];
/** The concurrency whose figures the summary quotes: the autoscaler's target per pod. */
export const AUTOSCALER_TARGET = 32;

export interface ModelCapacity {
  readonly file: string;
  readonly name: string;
  readonly input: string;
  readonly upload: string;
  readonly rows: readonly LoadResult[];
  /** Every round's own rows; `rows` are their medians. */
  readonly rounds: readonly (readonly LoadResult[])[];
}

export interface CapacityReport {
  readonly started: string;
  readonly machine: { cpus: number; cpuModel: string; node: string; loadAverageBefore: number[]; loadAverageAfter: number[] };
  readonly settings: CapacitySettings & { executionProvider: 'cpu'; durationSeconds: number; rounds: number; distinctImages: number };
  readonly models: readonly ModelCapacity[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** PNG uploads of the model's input size: Fashion-MNIST test images where they fit and are installed, else seeded noise. */
async function uploads(shape: { channels: 1 | 3; height: number; width: number }, n: number): Promise<{ bodies: Buffer[]; kind: string }> {
  const { channels, height, width } = shape;
  if (channels === 1 && height === 28 && width === 28 && existsSync(FASHION_MNIST_DEFAULT_DIR)) {
    const data = await loadFashionMnist({ split: 'test', limit: n });
    const per = 28 * 28;
    const bodies = await Promise.all(
      Array.from({ length: n }, (_, i) => encodeImage(Uint8Array.from(data.images.subarray(i * per, (i + 1) * per), (v) => Math.round(v * 255)), shape, 'png')),
    );
    return { bodies, kind: 'Fashion-MNIST test images, PNG' };
  }
  let s = 7;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const bodies = await Promise.all(
    Array.from({ length: n }, () => encodeImage(Uint8Array.from({ length: channels * height * width }, () => Math.floor(next() * 256)), shape, 'png')),
  );
  return { bodies, kind: `seeded random ${width}×${height}×${channels} images, PNG` };
}

async function measureModel(file: string, options: CapacityOptions): Promise<ModelCapacity> {
  const metadata = await readModelMetadata(file);
  const { bodies, kind } = await uploads(metadata.input, options.distinctImages);
  const { settings } = options;
  const env = {
    AWNET_MODELS: file,
    AWNET_EXECUTION_PROVIDERS: 'cpu',
    AWNET_LOG_LEVEL: 'warn',
    AWNET_WORKERS: String(settings.workers),
    AWNET_INTRA_OP_THREADS: String(settings.intraOpThreads),
    AWNET_MAX_BATCH_SIZE: String(settings.maxBatchSize),
    AWNET_MAX_BATCH_DELAY_MS: String(settings.maxBatchDelayMs),
    // As in the pod (k8s/base): a full queue answers 503, which the report counts.
    AWNET_QUEUE_LIMIT: '512',
  };
  const rounds: LoadResult[][] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const target = await startTarget('service', env);
    try {
      if (options.warmupSeconds > 0) await load(target.url, 8, options.warmupSeconds, bodies);
      const rows: LoadResult[] = [];
      for (const c of CAPACITY_CONCURRENCIES) {
        const r = await load(target.url, c, options.durationSeconds, bodies);
        log(`${metadata.name}, round ${round}, concurrency ${c}: ${r.imagesPerSecond.toFixed(1)} images/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}`);
        rows.push(r);
      }
      rounds.push(rows);
    } finally {
      await target.stop();
    }
  }
  const { channels, height, width } = metadata.input;
  const shown = file.startsWith(repoRoot() + path.sep) ? path.relative(repoRoot(), file) : path.basename(file);
  return { file: shown, name: metadata.name, input: `${channels}×${height}×${width}`, upload: kind, rows: medianRows(rounds), rounds };
}

const f1 = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** The markdown summary: one row per model and concurrency, ready for docs/deploy.md. */
export function renderCapacity(r: CapacityReport): string {
  const s = r.settings;
  return [
    '# Capacity of one CPU pod',
    '',
    `Run ${r.started} on ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}; load average ${r.machine.loadAverageBefore.map((v) => v.toFixed(2)).join(' / ')} before, ${r.machine.loadAverageAfter.map((v) => v.toFixed(2)).join(' / ')} after.`,
    `The service as the cpu overlay runs it: AWNET_WORKERS ${s.workers}, AWNET_INTRA_OP_THREADS ${s.intraOpThreads}, AWNET_MAX_BATCH_SIZE ${s.maxBatchSize}, AWNET_MAX_BATCH_DELAY_MS ${s.maxBatchDelayMs}, CPU provider, one model. One image per request; autocannon on the same machine; medians of ${s.rounds} rounds of ${s.durationSeconds} s.`,
    '',
    '| model | input | concurrency | images/s | p50 ms | p99 ms | non-2xx |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...r.models.flatMap((m) => m.rows.map((row) => `| ${m.name} | ${m.input} | ${row.connections}${row.connections === AUTOSCALER_TARGET ? ' (autoscaler target)' : ''} | ${f1(row.imagesPerSecond)} | ${row.p50Ms} | ${row.p99Ms} | ${row.non2xx} |`)),
    '',
  ].join('\n');
}

export async function runCapacity(options: CapacityOptions): Promise<CapacityReport> {
  const started = new Date();
  const loadAverageBefore = os.loadavg();
  let scratch: string | undefined;
  let models = options.models;
  if (models === undefined) {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'awnet-capacity-'));
    log('exporting cifar10-resnet18 with random weights (speed does not depend on the weights)');
    models = [path.join(repoRoot(), 'models', 'fmnist-tiny-awnet.onnx'), await writeRandomModel('cifar10-resnet18', scratch)];
  }
  try {
    const measured: ModelCapacity[] = [];
    for (const file of models) measured.push(await measureModel(file, options));
    const report: CapacityReport = {
      started: started.toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageBefore, loadAverageAfter: os.loadavg() },
      settings: { ...options.settings, executionProvider: 'cpu', durationSeconds: options.durationSeconds, rounds: options.rounds, distinctImages: options.distinctImages },
      models: measured,
    };
    await mkdir(options.out, { recursive: true });
    await writeFile(path.join(options.out, 'capacity.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(path.join(options.out, 'capacity.md'), renderCapacity(report));
    log(`wrote ${path.join(options.out, 'capacity.json')} and capacity.md`);
    process.stdout.write(renderCapacity(report));
    return report;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
