import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ServeReport } from '../../bench/serve-report.js';
import { repoRoot } from '../../src/server/repo-root.js';
import { HANG_GUARD_MS } from '../core-pool.js';
import { writeSyntheticModel } from './synthetic-model.js';

describe('npm run bench (a one-second run)', () => {
  it('measures all four designs on real uploads and writes the JSON report and its summary', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'awnet-bench-'));
    const result = spawnSync(
      process.execPath,
      [path.join(repoRoot(), 'dist/bench/serve.js'), '--model', writeSyntheticModel(), '--duration', '1', '--rounds', '1', '--warmup', '0', '--images', '16', '--out', out],
      { encoding: 'utf8', timeout: HANG_GUARD_MS },
    );
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(readFileSync(path.join(out, 'serve.json'), 'utf8')) as ServeReport;
    assert.deepEqual(Object.keys(report.modelCeiling), ['batch1', 'batch8', 'batch32']);
    assert.ok(Object.values(report.modelCeiling).every((v) => v > 0));
    for (const [name, rows, concurrencies] of [
      ['httpCeiling', report.httpCeiling, [64]],
      ['service', report.service, [1, 8, 64]],
      ['naive', report.naive, [1, 8, 64]],
    ] as const) {
      assert.deepEqual(rows.map((r) => r.connections), concurrencies, name);
      for (const r of rows) {
        assert.ok(r.imagesPerSecond > 0, `${name} at ${r.connections}`);
        assert.ok(r.p99Ms >= r.p50Ms);
        assert.equal(r.non2xx, 0, `${name} at ${r.connections} answered non-2xx`);
      }
    }
    assert.equal(report.goals.length, 3);
    assert.equal(report.rounds.length, 1);
    const summary = readFileSync(path.join(out, 'serve.md'), 'utf8');
    assert.match(summary, /\| service \| 64 \| \d+ \|/);
    assert.match(summary, /≥ 3× the naive design's/);
  });
});
