import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EvidenceRing } from '../../../src/server/query-attack/evidence-ring.js';

const SAFE = /^q-\d{13}-\d{6}\.(png|json)$/;

async function usage(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    // A file listed may be deleted by the ring before it is measured.
    total += (await stat(path.join(dir, name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

const item = (bytes: number, record: Record<string, unknown> = {}) => ({ image: async () => Buffer.alloc(bytes, 7), record });

describe('evidence ring', () => {
  it('never holds more than its budget, deleting the oldest first, with names of its own', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'awnet-evidence-'));
    const warnings: string[] = [];
    const ring = await EvidenceRing.open(dir, 4096, (line) => warnings.push(line));
    for (let i = 0; i < 40; i++) {
      ring.add(item(300, { requestId: `../../etc/passwd-${i}`, client: 'abc' }));
      if (i % 7 === 0) await ring.flush();
      assert.ok((await usage(dir)) <= 4096);
    }
    await ring.flush();
    const names = (await readdir(dir)).sort();
    assert.ok(names.every((n) => SAFE.test(n)), names.join(', '));
    assert.equal(ring.bytes, await usage(dir));
    assert.ok(ring.bytes <= 4096 && ring.bytes > 3000);
    const newest = names.filter((n) => n.endsWith('.json')).at(-1)!;
    const last = JSON.parse(await readFile(path.join(dir, newest), 'utf8')) as { requestId: string; file: string };
    assert.equal(last.requestId, '../../etc/passwd-39', 'the newest survive');
    assert.equal(last.file, newest.replace(/\.json$/, '.png'));
    assert.ok(names.includes(last.file));
    assert.deepEqual(warnings, []);
  });

  it('drops an item larger than the whole budget', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'awnet-evidence-'));
    const ring = await EvidenceRing.open(dir, 1000, () => {});
    ring.add(item(2000));
    await ring.flush();
    assert.equal(ring.dropped, 1);
    assert.deepEqual(await readdir(dir), []);
  });

  it('counts what an earlier process left, trims it to the budget, and leaves other files alone', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'awnet-evidence-'));
    await writeFile(path.join(dir, 'q-0000000000001-000001.png'), Buffer.alloc(3000));
    await writeFile(path.join(dir, 'q-0000000000001-000001.json'), '{}');
    await writeFile(path.join(dir, 'q-0000000000002-000001.png'), Buffer.alloc(500));
    await writeFile(path.join(dir, 'notes.txt'), 'kept');
    const ring = await EvidenceRing.open(dir, 2000, () => {});
    assert.equal(ring.bytes, 500);
    assert.deepEqual((await readdir(dir)).sort(), ['notes.txt', 'q-0000000000002-000001.png']);
    ring.add(item(1200));
    await ring.flush();
    assert.ok(ring.bytes <= 2000);
    assert.ok((await readdir(dir)).includes('notes.txt'));
  });

  it('reports a directory it cannot write to and goes on', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'awnet-evidence-'));
    const warnings: string[] = [];
    const ring = await EvidenceRing.open(dir, 10_000, (line) => warnings.push(line));
    ring.add({ image: async () => Promise.reject(new Error('encoder failed')), record: {} });
    ring.add(item(10));
    await ring.flush();
    assert.equal(ring.dropped, 1);
    assert.equal(warnings.length, 1);
    assert.equal(ring.files, 1);
  });
});
