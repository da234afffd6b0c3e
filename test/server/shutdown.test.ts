import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { repoRoot } from '../../src/server/repo-root.js';
import { image, metricValue } from './helpers.js';
import { writeSyntheticModel } from './synthetic-model.js';

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
  readonly adminUrl: string;
  readonly logs: string[];
  readonly exited: Promise<number | null>;
}

/** Starts `node dist/src/main.js` as users do, on a free port; resolves once it listens. */
async function startMain(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, [path.join(repoRoot(), 'dist/src/main.js')], {
    env: { ...process.env, AWNET_PORT: '0', AWNET_ADMIN_PORT: '0', AWNET_HOST: '127.0.0.1', AWNET_EXECUTION_PROVIDERS: 'cpu', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // The inference server listens first, then the admin server (/metrics).
  const [url, adminUrl] = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listen lines in ${logs.join('\n')}`)), 30_000);
    const urls: string[] = [];
    const onData = (data: Buffer) => {
      for (const line of data.toString().split('\n').filter(Boolean)) {
        logs.push(line);
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match) urls.push(match[1]!);
        if (urls.length === 2) {
          clearTimeout(timer);
          resolve(urls);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    void exited.then((code) => reject(new Error(`exited with ${code}: ${logs.join('\n')}`)));
  });
  return { process: child, url: url!, adminUrl: adminUrl!, logs, exited };
}

/** Polls `check` every 25 ms; a busy machine may take seconds to queue six requests, so the limit is generous. */
async function waitFor(check: () => Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const until = performance.now() + limitMs;
  while (performance.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
}

/** Runs a test body on a started process and kills the process if the body fails, so a failure never leaves it (and the test file) running. */
async function withMain(env: Record<string, string>, body: (child: Child) => Promise<void>): Promise<void> {
  const child = await startMain(env);
  try {
    await body(child);
  } finally {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  }
}

describe('graceful shutdown of the real process', () => {
  const slow = writeSyntheticModel({ name: 'slow', slowMatmuls: 12, slowSize: 512 });
  const settings = { AWNET_MODELS: slow, AWNET_MAX_BATCH_SIZE: '1', AWNET_MAX_BATCH_DELAY_MS: '0' };

  it('on SIGTERM turns unready at once, answers every request in flight, and exits 0 within the grace period', () =>
    withMain({ ...settings, AWNET_SHUTDOWN_GRACE_MS: '20000' }, async (child) => {
      assert.equal((await fetch(`${child.url}/v2/health/ready`)).status, 200);
      const png = await image(0.4);
      const inFlight = Array.from({ length: 6 }, () =>
        fetch(`${child.url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { results?: unknown[] },
        })),
      );
      // All six are received and queued behind one another before the signal.
      await waitFor(async () => {
        const text = await (await fetch(`${child.adminUrl}/metrics`)).text();
        return metricValue(text, 'awnet_queue_depth', { model: 'slow' }) >= 4;
      }, 'six requests in flight');

      const signalled = performance.now();
      child.process.kill('SIGTERM');
      await waitFor(async () => child.logs.some((l) => l.includes('SIGTERM received')), 'the signal to be handled');
      // From now on the service is not ready: a probe gets 503, or no connection at all;
      // new work gets 503 AWNET_NOT_READY where a connection is still open.
      const probe = await fetch(`${child.url}/v2/health/ready`).then(
        (r) => r.status,
        () => 'refused',
      );
      assert.notEqual(probe, 200);
      const late = await fetch(`${child.url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png }).then(
        async (r) => ((await r.json()) as { code: string }).code,
        () => 'refused',
      );
      assert.ok(late === 'AWNET_NOT_READY' || late === 'refused', late);

      const answers = await Promise.all(inFlight);
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
      assert.ok(answers.every((a) => a.body.results?.length === 1));
      const code = await child.exited;
      const took = performance.now() - signalled;
      assert.equal(code, 0, child.logs.join('\n'));
      assert.ok(took < 20_000, `exited after ${took} ms`);
      assert.ok(child.logs.some((l) => l.includes('SIGTERM received: draining')));
      assert.ok(child.logs.some((l) => l.includes('drained; bye')));
    }));

  it('exits non-zero when requests outlast the grace period', () =>
    withMain({ ...settings, AWNET_SHUTDOWN_GRACE_MS: '1' }, async (child) => {
      const png = await image(0.4);
      const inFlight = Array.from({ length: 6 }, () =>
        fetch(`${child.url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png }).then(
          (r) => r.status,
          () => 'reset',
        ),
      );
      await waitFor(async () => metricValue(await (await fetch(`${child.adminUrl}/metrics`)).text(), 'awnet_queue_depth', { model: 'slow' }) >= 4, 'requests queued');
      child.process.kill('SIGTERM');
      assert.equal(await child.exited, 1, child.logs.join('\n'));
      assert.ok(child.logs.some((l) => l.includes('still running after 1 ms')));
      // Queued requests are refused or cut off; none is left hanging, and nothing crashed the process.
      const statuses = await Promise.all(inFlight);
      assert.ok(statuses.every((s) => s === 200 || s === 503 || s === 'reset'), `statuses ${statuses}`);
      assert.ok(statuses.some((s) => s !== 200), `statuses ${statuses}`);
      assert.ok(!child.logs.some((l) => /terminate called|Aborted/.test(l)), child.logs.join('\n'));
    }));
});
