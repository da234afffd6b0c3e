import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { InferencePool } from '../../../src/server/inference/inference-pool.js';
import { image, metricValue, startServer, type TestServer } from '../helpers.js';
import { writeSyntheticModel } from '../synthetic-model.js';

/** Polls until `check` holds, or fails after `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('readiness follows the inference workers', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'awnet-readiness-'));
  const file = writeSyntheticModel({ name: 'fragile', dir });
  const hidden = `${file}.away`;
  let server: TestServer;
  let pool: InferencePool;

  before(async () => {
    server = await startServer([file], { AWNET_WORKERS: '1', AWNET_REQUEST_TIMEOUT_MS: '5000', AWNET_LIVENESS_GRACE_SECONDS: '1' }, { listen: true });
    const engine = server.app.models.get('fragile').engine;
    assert.ok(engine instanceof InferencePool);
    pool = engine;
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (route: string): Promise<number> => (await fetch(`${server.url}${route}`)).status;
  const ready = async (): Promise<number> => metricValue(await (await fetch(`${server.adminUrl}/metrics`)).text(), 'awnet_model_ready', { model: 'fragile' });
  const classify = async (): Promise<Response> =>
    fetch(`${server.url}/v1/models/fragile/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: await image(0.3) });

  it('a pool whose worker died and cannot be replaced reports not ready, refuses work at once, and recovers', async () => {
    assert.equal(await status('/v2/health/ready'), 200);
    assert.equal(await ready(), 1);
    assert.equal((await classify()).status, 200);

    // The replacement cannot load the model while the file is away (as when a volume
    // or a GPU is lost), so the pool is left with no worker.
    renameSync(file, hidden);
    // Reach the thread itself: nothing public kills a worker, which is the point.
    const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
    await slots[0]!.worker.terminate();
    await until('the pool to give up on its first replacement', 10_000, async () => !pool.healthy);
    assert.equal(pool.size, 0);

    assert.equal(await status('/v2/health/ready'), 503, 'readiness turns false: the pod leaves the Service');
    assert.equal(await status('/v2/models/fragile/ready'), 503);
    assert.equal(await ready(), 0, 'awnet_model_ready is 0, so AwnetModelNotReady can fire');
    assert.equal(await status('/v2/health/live'), 200, 'still live: the kubelet need not kill a pod that may recover');
    const started = Date.now();
    const refused = await classify();
    assert.equal(refused.status, 503, 'refused at once rather than timing out with 504');
    assert.equal(((await refused.json()) as { code: string }).code, 'AWNET_NOT_READY');
    assert.ok(Date.now() - started < 2000, `refused after ${Date.now() - started} ms`);
    // Dead past AWNET_LIVENESS_GRACE_SECONDS: no longer live, so the kubelet restarts the pod
    // instead of leaving it NotReady (holding its GPU) for ever.
    await sleep(1100);
    assert.equal(await status('/v2/health/live'), 503, 'not live once the model has had no worker past the grace');

    // The file comes back: a later attempt starts a worker and the pod is ready again.
    renameSync(hidden, file);
    await until('the pool to recover', 20_000, async () => pool.healthy && pool.size === 1);
    assert.equal(await status('/v2/health/ready'), 200);
    assert.equal(await status('/v2/health/live'), 200);
    assert.equal(await ready(), 1);
    assert.equal((await classify()).status, 200);
  });
});
