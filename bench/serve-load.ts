import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './serve-report.js';

export type TargetMode = 'service' | 'http-ceiling' | 'naive';

export interface Target {
  readonly url: string;
  stop(): Promise<void>;
}

/** One server under test in its own process (bench/serve-target.ts), configured by AWNET_* variables. */
export async function startTarget(mode: TargetMode, env: Record<string, string>): Promise<Target> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve-target.js');
  const child: ChildProcess = spawn(process.execPath, [script, '--mode', mode], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { url: string }).url));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** `connections` clients posting the uploads in turn to /v1/classify for `seconds`; one image per request. */
export async function load(url: string, connections: number, seconds: number, bodies: Buffer[]): Promise<LoadResult> {
  const result = await autocannon({
    url: `${url}/v1/classify`,
    connections,
    duration: seconds,
    requests: bodies.map((body) => ({ method: 'POST', path: '/v1/classify', headers: { 'content-type': 'image/png' }, body })),
  });
  return {
    connections,
    imagesPerSecond: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Per concurrency, the median of each figure over the rounds (errors summed). */
export function medianRows(perRound: LoadResult[][]): LoadResult[] {
  return perRound[0]!.map(({ connections }) => {
    const same = perRound.map((rows) => rows.find((r) => r.connections === connections)!);
    return {
      connections,
      imagesPerSecond: median(same.map((r) => r.imagesPerSecond)),
      p50Ms: median(same.map((r) => r.p50Ms)),
      p99Ms: median(same.map((r) => r.p99Ms)),
      non2xx: same.reduce((a, r) => a + r.non2xx, 0),
      errors: same.reduce((a, r) => a + r.errors, 0),
    };
  });
}
