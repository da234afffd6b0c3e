import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { CapacityReport } from '../../bench/capacity.js';
import { writeRandomModel } from '../../bench/random-model.js';
import { InferencePool } from '../../src/server/inference/inference-pool.js';
import { readModelMetadata } from '../../src/server/inference/model-metadata.js';
import { repoRoot } from '../../src/server/repo-root.js';
import { HANG_GUARD_MS } from '../core-pool.js';
import { writeSyntheticModel } from './synthetic-model.js';

describe('npm run bench -- --capacity (a one-second run)', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'awnet-capacity-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('a preset exported with random weights is a model the service serves', async () => {
    const file = await writeRandomModel('fmnist-tiny', out);
    const metadata = await readModelMetadata(file);
    assert.equal(metadata.name, 'fmnist-tiny-random');
    assert.deepEqual(metadata.input, { channels: 1, height: 28, width: 28 });
    const pool = await InferencePool.start({ file, providers: ['cpu'], intraOpThreads: 1, workers: 1, shape: metadata.input, log: () => {} });
    try {
      const result = await pool.run(new Float32Array(2 * 28 * 28).fill(0.5), 2);
      assert.equal(result.probabilities.length, 20);
      assert.ok(Math.abs(result.probabilities.slice(0, 10).reduce((a, b) => a + b, 0) - 1) < 1e-4);
    } finally {
      await pool.close();
    }
  });

  it('measures each model at every concurrency and writes the JSON report and its table', () => {
    const grey = writeSyntheticModel({ name: 'grey' });
    const colour = writeSyntheticModel({ name: 'colour', channels: 3, height: 32, width: 32 });
    const result = spawnSync(
      process.execPath,
      [path.join(repoRoot(), 'dist/bench/serve.js'), '--capacity', '--capacity-models', `${grey},${colour}`, '--duration', '1', '--rounds', '1', '--warmup', '0', '--images', '8', '--out', out],
      { encoding: 'utf8', timeout: HANG_GUARD_MS },
    );
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(readFileSync(path.join(out, 'capacity.json'), 'utf8')) as CapacityReport;
    assert.deepEqual(report.models.map((m) => [m.name, m.input]), [['grey', '1×28×28'], ['colour', '3×32×32']]);
    assert.equal(report.settings.workers, 1, "the cpu overlay's settings by default");
    for (const m of report.models) {
      assert.deepEqual(m.rows.map((r) => r.connections), [1, 8, 32, 64]);
      for (const r of m.rows) {
        assert.ok(r.imagesPerSecond > 0, `${m.name} at ${r.connections}`);
        assert.ok(r.p99Ms >= r.p50Ms);
        assert.equal(r.non2xx, 0, `${m.name} at ${r.connections} answered non-2xx`);
      }
    }
    const table = readFileSync(path.join(out, 'capacity.md'), 'utf8');
    assert.match(table, /\| colour \| 3×32×32 \| 32 \(autoscaler target\) \| [\d.]+ \|/);
  });
});
