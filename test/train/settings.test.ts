import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSettings, resumeConflicts, type TrainSettings } from '../../src/train/settings.js';
import { TrainError } from '../../src/train/errors.js';
import { defaultSettings } from './helpers.js';

describe('train settings', () => {
  it('a run saved before a setting existed resumes when the command keeps that setting at its default', () => {
    const now = defaultSettings('/tmp/run');
    const { typeSmoothing: _smoothing, valSquareQueries: _square, matchedNoiseShare: _matched, ...older } = now;
    assert.deepEqual(resumeConflicts(older as unknown as TrainSettings, now), []);
    assert.deepEqual(resumeConflicts(older as unknown as TrainSettings, { ...now, typeSmoothing: 0.1 }), ['typeSmoothing: checkpoint has 0, command has 0.1']);
    // The objectives' options came later too: a run from before them resumes at their defaults.
    const { gairatLambda: _l, gairatBurnIn: _b, marginWeight: _w, marginCap: _c, arAtWeight: _g, ...beforeObjectives } = now;
    assert.deepEqual(resumeConflicts(beforeObjectives as unknown as TrainSettings, now), []);
    assert.deepEqual(resumeConflicts(beforeObjectives as unknown as TrainSettings, { ...now, marginCap: 3 }), ['marginCap: checkpoint has 2, command has 3']);
  });

  it('names --type-smoothing, --matched-noise-share, --benign-kinds and --val-square-queries when they are out of range', () => {
    const base = defaultSettings('/tmp/run');
    assert.throws(() => checkSettings({ ...base, typeSmoothing: 0.6 }), (e: unknown) => e instanceof TrainError && /--type-smoothing must be a number in \[0, 0\.5\], got 0\.6/.test(e.message));
    assert.throws(
      () => checkSettings({ ...base, benignShare: 0.6, matchedNoiseShare: 0.5 }),
      (e: unknown) => e instanceof TrainError && /--benign-share 0\.6 and --matched-noise-share 0\.5 add up to more than 1/.test(e.message),
    );
    assert.throws(() => checkSettings({ ...base, evasionStepSize: 1.5 }), (e: unknown) => e instanceof TrainError && /--evasion-step-size must be a number in \[0, 1\], got 1\.5/.test(e.message));
    assert.doesNotThrow(() => checkSettings({ ...base, evasionStepSize: 0.05 }));
    assert.throws(() => checkSettings({ ...base, benignKinds: [] }), (e: unknown) => e instanceof TrainError && /--benign-kinds must name at least one of uniform, .*offset, got none/.test(e.message));
    assert.throws(
      () => checkSettings({ ...base, benignKinds: ['jpeg', 'noise' as never] }),
      (e: unknown) => e instanceof TrainError && /--benign-kinds must name at least one of .*, got noise$/.test(e.message),
    );
    assert.throws(() => checkSettings({ ...base, benignKinds: ['jpeg', 'blur', 'jpeg'] }), (e: unknown) => e instanceof TrainError && /--benign-kinds names jpeg more than once/.test(e.message));
    assert.doesNotThrow(() => checkSettings({ ...base, benignKinds: ['jpeg', 'blur'] }));
    assert.throws(() => checkSettings({ ...base, valSquareQueries: 2.5 }), (e: unknown) => e instanceof TrainError && /--val-square-queries must be an integer ≥ 0, got 2\.5/.test(e.message));
  });
});
