import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { Fingerprinter, HASHES, MATCH, overlap } from '../../../src/server/query-attack/query-fingerprint.js';
import { QueryMemory, SUSPECT_FRACTION } from '../../../src/server/query-attack/query-memory.js';

const PER = 28 * 28;

/** A Square-Attack-like probe: x with a side × side window set to x ± eps, on the 8-bit grid. */
function probe(x: Float32Array, seed: number, side: number, eps = 0.1): Float32Array {
  const out = Float32Array.from(x);
  let s = seed;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const top = Math.floor(next() * (28 - side));
  const left = Math.floor(next() * (28 - side));
  const sign = next() < 0.5 ? -1 : 1;
  for (let r = top; r < top + side; r++) {
    for (let c = left; c < left + side; c++) out[r * 28 + c] = Math.round(Math.min(Math.max(x[r * 28 + c]! + sign * eps, 0), 1) * 255) / 255;
  }
  return out;
}

describe('query fingerprints', () => {
  let images: Float32Array;
  const prints = new Fingerprinter(12345);
  const image = (i: number) => images.subarray(i * PER, (i + 1) * PER);

  before(async () => {
    images = (await loadFashionMnist({ split: 'test', limit: 300 })).images;
  });

  it('are compact, equal for equal images, and close for an attack probe', () => {
    const a = prints.of(image(0));
    assert.ok(a.sketch.length <= HASHES && a.sketch.length > MATCH);
    assert.ok(a.sketch.every((h, i) => i === 0 || h > a.sketch[i - 1]!), 'ascending and distinct');
    assert.deepEqual(prints.of(Float32Array.from(image(0))), a);
    // The Square Attack's windows once its schedule has shrunk them (docs/query-attacks.md).
    for (const side of [2, 3]) {
      const b = prints.of(probe(image(0), side, side));
      assert.ok(overlap(a.sketch, b.sketch) >= MATCH, `a ${side}×${side} probe shares ${overlap(a.sketch, b.sketch)} hashes`);
    }
  });

  it('rarely match between distinct Fashion-MNIST test images', () => {
    const all = Array.from({ length: 300 }, (_, i) => prints.of(image(i)));
    let matches = 0;
    let pairs = 0;
    for (let i = 0; i < all.length; i++) {
      for (let j = 0; j < i; j++, pairs++) if (overlap(all[i]!.sketch, all[j]!.sketch) >= MATCH) matches++;
    }
    assert.ok(matches / pairs < 0.002, `${matches} of ${pairs} pairs match`);
  });

  it('depend on the secret seed', () => {
    assert.notDeepEqual(new Fingerprinter(1).of(image(1)).sketch, new Fingerprinter(2).of(image(1)).sketch);
  });

  it('handle images smaller than a window and flat ones', () => {
    assert.equal(prints.of(new Float32Array(5).fill(0.5)).sketch.length, 1);
    assert.equal(prints.of(new Float32Array(PER)).sketch.length, 1);
  });
});

describe('query memory', () => {
  const prints = new Fingerprinter(7);
  const base = Float32Array.from({ length: PER }, (_, i) => ((i * 2654435761) % 997) / 997);
  const distinct = (i: number) => prints.of(Float32Array.from({ length: PER }, (_, p) => (((p + 1) * (i + 3) * 2654435761) % 1009) / 1009));
  let time = 0;
  const memory = (settings: Partial<{ threshold: number; windowSeconds: number; history: number; maxClients: number }> = {}) =>
    new QueryMemory({ threshold: 5, windowSeconds: 60, history: 32, maxClients: 4, now: () => time, ...settings });

  it('suspects a client once enough of its queries nearly repeat its own, and says until when', () => {
    time = 1_000_000;
    const m = memory();
    const first = m.record('a', [prints.of(base)]);
    assert.equal(first.suspected, false);
    let verdict = first;
    for (let i = 1; verdict.nearDuplicates < 5 && i < 50; i++) verdict = m.record('a', [prints.of(probe(base, i, 4))]);
    assert.equal(verdict.suspected, true);
    assert.equal(verdict.newlySuspected, true);
    assert.equal(verdict.suspectedAfter, 6);
    assert.equal(verdict.retryAfterSeconds, 60);
    assert.equal(m.suspicion('a'), 60);
    assert.equal(m.suspectedCount(), 1);
    assert.equal(m.suspicion('b'), 0, 'other clients are untouched');
    time += 61_000;
    assert.equal(m.suspicion('a'), 0, 'the record ages out');
    assert.equal(m.suspectedCount(), 0);
  });

  it('does not count exact repeats, and needs near duplicates to be a fair share of the queries', () => {
    time = 2_000_000;
    const m = memory({ history: 256 });
    for (let i = 0; i < 50; i++) assert.equal(m.record('retry', [prints.of(base)]).suspected, false);
    assert.equal(m.peek('retry')?.total, 1);
    const fraction = Math.ceil(5 / SUSPECT_FRACTION);
    for (let i = 0; i < fraction * 2; i++) m.record('busy', [distinct(i)]);
    m.record('busy', [prints.of(base)]);
    for (let i = 0; i < 6; i++) m.record('busy', [prints.of(probe(base, i + 1, 3))]);
    const counts = m.peek('busy')!.counts(0);
    assert.ok(counts.nearDuplicates >= 5 && counts.nearDuplicates < SUSPECT_FRACTION * counts.queries, JSON.stringify(counts));
    assert.equal(m.suspicion('busy'), 0);
  });

  it('keeps at most `history` queries per client and `maxClients` clients, evicting unsuspected ones first', () => {
    time = 3_000_000;
    const m = memory({ history: 16, maxClients: 3 });
    for (let i = 0; i < 40; i++) m.record('many', [distinct(i)]);
    assert.equal(m.peek('many')!.counts(0).queries, 16);
    assert.equal(m.peek('many')!.bytes, 16 * (HASHES * 4 + 14));
    m.record('attacker', [prints.of(base)]);
    for (let i = 0; i < 8; i++) m.record('attacker', [prints.of(probe(base, i + 1, 4))]);
    assert.ok(m.suspicion('attacker') > 0);
    for (let i = 0; i < 50; i++) m.record(`sprayed-${i}`, [distinct(i)]);
    assert.equal(m.size, 3);
    assert.ok(m.suspicion('attacker') > 0, 'a suspected client is not washed out by new keys');
    assert.equal(m.peek('many'), undefined);
  });

  it('forgets queries older than the window', () => {
    time = 4_000_000;
    const m = memory();
    for (let i = 0; i < 4; i++) m.record('slow', [prints.of(probe(base, i + 1, 4))]);
    time += 120_000;
    const verdict = m.record('slow', [prints.of(probe(base, 99, 4))]);
    assert.equal(verdict.queries, 1);
    assert.equal(verdict.nearDuplicates, 0);
  });
});
