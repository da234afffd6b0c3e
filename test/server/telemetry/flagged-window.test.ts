import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlaggedWindow } from '../../../src/server/telemetry/flagged-window.js';

describe('FlaggedWindow', () => {
  it('is 0 with no traffic, the flagged fraction with traffic, and forgets what left the window', () => {
    let now = 1_000_000_000;
    const window = new FlaggedWindow(60, () => now);
    assert.equal(window.fraction(), 0);
    for (let i = 0; i < 30; i++) window.record(false);
    for (let i = 0; i < 10; i++) window.record(true);
    assert.equal(window.fraction(), 0.25);
    now += 30_000;
    for (let i = 0; i < 40; i++) window.record(true);
    assert.equal(window.fraction(), 50 / 80);
    // 61 s after the first burst only the second one is in the window.
    now += 31_000;
    assert.equal(window.fraction(), 1);
    now += 60_000;
    assert.equal(window.fraction(), 0);
  });

  it('reuses a bucket a whole window later without mixing old counts in', () => {
    let now = 5_000;
    const window = new FlaggedWindow(10, () => now);
    window.record(true);
    now += 10_000; // same bucket index, ten seconds on
    window.record(false);
    window.record(false);
    assert.equal(window.fraction(), 0);
  });
});
