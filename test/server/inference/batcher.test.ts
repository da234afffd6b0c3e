import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { Batcher, type BatcherOptions } from '../../../src/server/inference/batcher.js';
import { InferencePool } from '../../../src/server/inference/inference-pool.js';
import { openSession } from '../../../src/server/inference/onnx-session.js';
import { GREY_28 } from '../helpers.js';
import { writeSyntheticModel } from '../synthetic-model.js';

const SIZE = 28 * 28;

function imageOf(mean: number): Float32Array {
  return new Float32Array(SIZE).map((_, i) => Math.min(1, Math.max(0, mean + ((i % 7) - 3) * 0.01)));
}

describe('Batcher on a real onnxruntime worker pool', () => {
  const fastModel = writeSyntheticModel({ name: 'fast' });
  // Big enough that onnxruntime's graph optimisations cannot fold it away: a batch takes
  // a few hundred milliseconds, well past the 60 ms timeout below.
  const slowModel = writeSyntheticModel({ name: 'slow', slowMatmuls: 24, slowSize: 1024 });
  let fast: InferencePool;
  let slow: InferencePool;
  const logs: string[] = [];

  before(async () => {
    const common = { providers: ['cpu'] as const, intraOpThreads: 1, workers: 1, shape: GREY_28, log: (l: string) => logs.push(l) };
    fast = await InferencePool.start({ ...common, file: fastModel });
    slow = await InferencePool.start({ ...common, file: slowModel });
  });
  after(async () => {
    await fast.close();
    await slow.close();
  });

  function batcher(pool: InferencePool, options: Partial<BatcherOptions> = {}) {
    const batches: number[] = [];
    const waits: number[] = [];
    const b = new Batcher(
      pool,
      { model: 'm', maxBatchSize: 8, maxBatchDelayMs: 5, queueLimit: 64, requestTimeoutMs: 10_000, imageSize: SIZE, classes: 10, ...options },
      { onBatch: (size) => batches.push(size), onQueueWait: (s) => waits.push(s) },
    );
    return { b, batches, waits };
  }

  it('answers exactly what a direct session run gives for the same pixels', async () => {
    const { b } = batcher(fast);
    const images = [0.1, 0.4, 0.7, 0.9].map(imageOf);
    const outputs = await b.submit(images);
    const session = await openSession(fastModel, { providers: ['cpu'], intraOpThreads: 1 });
    const batch = new Float32Array(images.length * SIZE);
    images.forEach((img, i) => batch.set(img, i * SIZE));
    const direct = await session.run(batch, images.length, GREY_28);
    await session.close();
    outputs.forEach((out, i) => {
      assert.deepEqual(Array.from(out.probabilities), Array.from(direct.probabilities.subarray(i * 10, (i + 1) * 10)));
      assert.deepEqual(Array.from(out.logits), Array.from(direct.logits.subarray(i * 10, (i + 1) * 10)));
      assert.equal(out.adversarialScore, direct.adversarialScore[i]);
      const sum = out.probabilities.reduce((a, p) => a + p, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5);
    });
    // The synthetic router flags bright images only.
    assert.deepEqual(outputs.map((o) => o.adversarialScore > 0.5), [false, false, true, true]);
  });

  it('batches concurrent requests from different clients together', async () => {
    const { b, batches } = batcher(fast, { maxBatchSize: 8, maxBatchDelayMs: 50 });
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => b.submit([imageOf(i / 16)])));
    assert.equal(answers.length, 16);
    assert.equal(batches.reduce((a, n) => a + n, 0), 16);
    assert.ok(Math.max(...batches) > 1, `batches ${batches}`);
    assert.ok(batches.length <= 4, `batches ${batches}`);
  });

  it('sends a lone request at once, waits (up to the delay) for announced ones, and never longer', async () => {
    const { b, waits, batches } = batcher(fast, { maxBatchSize: 32, maxBatchDelayMs: 300 });
    await b.submit([imageOf(0.2)]); // warm the session
    waits.length = 0;
    batches.length = 0;

    // Nothing else on its way: no reason to wait.
    await b.submit([imageOf(0.3)]);
    assert.ok(waits[0]! < 0.1, `a lone request waited ${waits[0]} s`);

    // Another request announced (its upload being decoded): the first waits for it and they share a batch.
    batches.length = 0;
    const release = b.announce();
    const first = b.submit([imageOf(0.4)]);
    await new Promise((r) => setTimeout(r, 30));
    const second = b.submit([imageOf(0.5)]);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(batches, [2]);

    // Announced but never coming (its decode failed): the queued image leaves after the delay, not later.
    waits.length = 0;
    const abandoned = b.announce();
    const started = performance.now();
    await b.submit([imageOf(0.6)]);
    const elapsed = performance.now() - started;
    abandoned();
    assert.ok(waits[0]! >= 0.29, `waited ${waits[0]} s for the announced request`);
    // Timers may fire late on a loaded machine; the point is that it is not held for ever.
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  });

  it('refuses work beyond the queue limit with AWNET_QUEUE_FULL and a Retry-After, losing nothing accepted', async () => {
    const { b } = batcher(slow, { maxBatchSize: 1, maxBatchDelayMs: 0, queueLimit: 3 });
    const accepted = [b.submit([imageOf(0.1)])]; // runs at once
    accepted.push(b.submit([imageOf(0.2)]), b.submit([imageOf(0.3)]), b.submit([imageOf(0.4)])); // fill the queue
    assert.equal(b.depth, 3);
    await assert.rejects(b.submit([imageOf(0.5)]), (e: Error & { code?: string; retryAfterSeconds?: number }) => {
      assert.equal(e.code, 'AWNET_QUEUE_FULL');
      assert.ok(Number.isInteger(e.retryAfterSeconds) && e.retryAfterSeconds! >= 1);
      return true;
    });
    // A multi-image request is all or nothing; one that could never fit is told so.
    await assert.rejects(b.submit([imageOf(0.5), imageOf(0.6)]), { code: 'AWNET_QUEUE_FULL' });
    await assert.rejects(b.submit([0.1, 0.2, 0.3, 0.4].map(imageOf)), { code: 'AWNET_BATCH_TOO_LARGE', message: /4 images .* at most 3/ });
    const results = await Promise.all(accepted);
    assert.equal(results.length, 4);
    assert.ok(results.every((r) => r.length === 1 && r[0]!.probabilities.length === 10));
    await b.drained();
    assert.equal(b.depth, 0);
  });

  it('answers AWNET_TIMEOUT past the request timeout and keeps serving afterwards', async () => {
    const { b } = batcher(slow, { maxBatchSize: 1, maxBatchDelayMs: 0, requestTimeoutMs: 60 });
    // The first image runs at once and may or may not finish within 60 ms; the second waits behind it.
    const first = b.submit([imageOf(0.1)]).catch((e: Error) => e);
    const second = b.submit([imageOf(0.2)]);
    await assert.rejects(second, { code: 'AWNET_TIMEOUT', message: /60 ms/ });
    await first;
    await b.drained();
    assert.equal(b.depth, 0);
    const { b: patient } = batcher(slow, { maxBatchSize: 1, maxBatchDelayMs: 0, requestTimeoutMs: 30_000 });
    const [out] = await patient.submit([imageOf(0.9)]);
    assert.ok(out!.adversarialScore > 0.5);
  });

  it('replaces a worker thread that dies, and keeps serving', async () => {
    const lines: string[] = [];
    const pool = await InferencePool.start({ file: fastModel, providers: ['cpu'], intraOpThreads: 1, workers: 1, shape: GREY_28, log: (l) => lines.push(l) });
    try {
      const { b } = batcher(pool);
      await b.submit([imageOf(0.2)]);
      // Reach the thread itself: nothing public kills a worker, which is the point.
      const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
      await slots[0]!.worker.terminate();
      const [out] = await b.submit([imageOf(0.8)]);
      assert.ok(out!.adversarialScore > 0.5);
      assert.equal(pool.size, 1);
      assert.ok(lines.some((l) => /died; starting a replacement/.test(l)));
    } finally {
      await pool.close();
    }
  });

  it('logs the execution provider it fell back to when CUDA is unavailable', async () => {
    const lines: string[] = [];
    const pool = await InferencePool.start({
      file: fastModel,
      providers: ['cuda', 'cpu'],
      intraOpThreads: 1,
      workers: 2,
      shape: GREY_28,
      log: (l) => lines.push(l),
    });
    try {
      assert.equal(pool.size, 2);
      if (pool.provider === 'cuda') {
        assert.ok(lines.some((l) => /execution provider cuda runs/.test(l)), lines.join('\n'));
      } else {
        // No CUDA provider library here (the CPU-only install): the fallback is logged.
        assert.equal(pool.provider, 'cpu');
        assert.ok(lines.some((l) => /execution provider cuda unavailable/.test(l)), lines.join('\n'));
        assert.ok(lines.some((l) => /execution provider cpu runs/.test(l)));
      }
    } finally {
      await pool.close();
    }
  });
});
