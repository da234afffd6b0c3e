import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrossKeyMemory, MAX_NAMED, type CrossKeySettings } from '../../../src/server/query-attack/cross-key-memory.js';
import { Fingerprinter, HASHES } from '../../../src/server/query-attack/query-fingerprint.js';
import { CHAIN_LIMIT, RecentPrints } from '../../../src/server/query-attack/recent-prints.js';

const SIDE = 28;
const PER = SIDE * SIDE;
const prints = new Fingerprinter(99);

/** Noise of its own for each seed: distinct seeds, unrelated images. */
function image(seed: number): Float32Array {
  let s = (seed * 7919 + 17) >>> 0;
  return Float32Array.from({ length: PER }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A Square-Attack-like probe: `x` with a side × side window moved by ±eps, on the 8-bit grid. */
function probe(x: Float32Array, seed: number, side = 3, eps = 0.1): Float32Array {
  const out = Float32Array.from(x);
  let s = Math.imul(seed + 1, 2654435761) >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const top = Math.floor(next() * (SIDE - side));
  const left = Math.floor(next() * (SIDE - side));
  const sign = next() < 0.5 ? -1 : 1;
  for (let r = top; r < top + side; r++) {
    for (let c = left; c < left + side; c++) out[r * SIDE + c] = Math.round(Math.min(Math.max(x[r * SIDE + c]! + sign * eps, 0), 1) * 255) / 255;
  }
  return out;
}

let time = 0;
const memory = (settings: Partial<CrossKeySettings> = {}) => new CrossKeyMemory({ threshold: 20, minClients: 5, windowSeconds: 60, memory: 512, now: () => time, ...settings });

describe('query detection across client keys', () => {
  it('suspects a stream of perturbations of one image sent under a new key each, once, naming the keys', () => {
    time = 1_000_000;
    const m = memory();
    const base = image(1);
    const newly = [];
    let matched = 0;
    for (let i = 0; i < 40; i++) {
      const verdict = m.record(`key-${i}`, [prints.of(probe(base, i))]);
      newly.push(...verdict.newlySuspected);
      matched += verdict.matched;
      time += 100;
    }
    assert.equal(newly.length, 1, 'reported once');
    const cluster = newly[0]!;
    assert.ok(cluster.images >= 20 && cluster.clientCount >= 20, JSON.stringify(cluster));
    assert.equal(cluster.clients.length, MAX_NAMED);
    assert.ok(cluster.clients.every((k) => /^key-\d+$/.test(k)));
    assert.ok(matched >= 1 && cluster.images + matched - 1 <= 40, `${matched} images joined it once suspected`);
    assert.equal(m.suspectedCount(), 1);
    time += 61_000;
    assert.equal(m.suspectedCount(), 0, 'its images age out of the window');
    assert.equal(m.clusterCount, 0);
  });

  it('does not suspect distinct images from many keys, nor one popular image sent unchanged by all of them', () => {
    time = 2_000_000;
    const m = memory();
    const popular = prints.of(image(7));
    for (let i = 0; i < 400; i++) {
      assert.deepEqual(m.record(`key-${i % 50}`, [prints.of(image(100 + i)), popular]).newlySuspected, []);
      time += 25;
    }
    assert.equal(m.suspectedCount(), 0);
    assert.equal(m.largest()?.images, 1, 'no cluster: exact repeats are not recorded, distinct images do not match');
  });

  it('does not suspect a popular image re-encoded by honest clients: fewer versions than the threshold, each sent again and again', () => {
    time = 2_500_000;
    const m = memory();
    const versions = Array.from({ length: 15 }, (_, v) => prints.of(probe(image(8), v)));
    // Each fan's app is one of the versions, drawn at random.
    let s = 5;
    for (let i = 0; i < 300; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      assert.deepEqual(m.record(`fan-${i}`, [versions[s % versions.length]!]).newlySuspected, []);
      time += 50;
    }
    const cluster = m.largest()!;
    assert.ok(cluster.images <= 15 && cluster.clientCount >= 5, JSON.stringify(cluster));
    assert.equal(m.suspectedCount(), 0);
  });

  it('leaves a probing stream from fewer keys than minClients to per-client detection', () => {
    time = 3_000_000;
    const m = memory();
    const base = image(2);
    for (let i = 0; i < 60; i++) assert.deepEqual(m.record(`key-${i % 4}`, [prints.of(probe(base, i))]).newlySuspected, []);
    assert.ok(m.largest()!.images >= 20, 'the cluster is there, from 4 keys');
    assert.equal(m.suspectedCount(), 0);
  });

  it('keeps its memory bounded whatever the traffic, and still finds a campaign after the store wrapped many times', () => {
    time = 4_000_000;
    const m = memory({ memory: 64, windowSeconds: 3600 });
    const bytes = m.bytes;
    for (let i = 0; i < 2000; i++) m.record(`client-${i}`, [prints.of(image(1000 + i))]);
    assert.equal(m.bytes, bytes);
    assert.ok(m.clusterCount <= 64, `${m.clusterCount} clusters`);
    const base = image(3);
    let suspected = 0;
    for (let i = 0; i < 40; i++) suspected += m.record(`probe-${i}`, [prints.of(probe(base, i)), prints.of(image(5000 + i))]).newlySuspected.length;
    assert.equal(suspected, 1);
    assert.ok(m.clusterCount <= 64);
  });
});

describe('recent prints (the store behind it)', () => {
  it('finds near duplicates and exact repeats within the window, and forgets what was overwritten', () => {
    const store = new RecentPrints(8);
    const base = image(4);
    store.add(prints.of(base), 1000);
    assert.equal(store.lookup(prints.of(base), 0).repeat, 0);
    assert.deepEqual(store.lookup(prints.of(probe(base, 1)), 0).near, [0]);
    assert.deepEqual(store.lookup(prints.of(probe(base, 1)), 1001).near, [], 'older than the window');
    for (let i = 0; i < 8; i++) store.add(prints.of(image(200 + i)), 2000 + i);
    assert.deepEqual(store.lookup(prints.of(base), 0), { near: [], repeat: undefined });
  });

  it('follows at most CHAIN_LIMIT postings per hash, newest first: a hash every image holds costs no more', () => {
    // A black image has one hash (a run of black); an image with one bright pixel has that
    // hash too, plus the runs over its pixel: every entry below is on the black run's chain.
    const store = new RecentPrints(4 * CHAIN_LIMIT + 1);
    const black = prints.of(new Float32Array(PER));
    assert.equal(black.sketch.length, 1);
    store.add(black, 0);
    for (let i = 0; i < 4 * CHAIN_LIMIT; i++) {
      const dot = new Float32Array(PER);
      dot[100 + i] = 1;
      const print = prints.of(dot);
      assert.ok(print.sketch.includes(black.sketch[0]!) && print.sketch.length < HASHES);
      store.add(print, 1 + i);
    }
    assert.equal(store.lookup(black, 0).repeat, 0, 'an exact repeat is found by its own index');
    // A smaller black image: the same one hash, another image.
    const found = store.lookup(prints.of(new Float32Array(PER - 1)), 0);
    assert.equal(found.repeat, undefined);
    assert.equal(found.near.length, CHAIN_LIMIT);
    assert.ok(found.near.every((slot) => slot > 3 * CHAIN_LIMIT), 'the newest ones: the black image in slot 0 lies beyond the limit');
  });
});
