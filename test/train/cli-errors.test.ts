import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { runCli, tempDir, TINY_MODEL_ARGS } from './helpers.js';

// Each test runs CLI processes that fail before training, each with its own --out: they run side by side.
describe('train command: bad input gives one clear error line', { concurrency: true }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('train-errors'));
  });
  after(() => cleanup());

  const base = (out: string): string[] => ['train', '--epochs', '1', '--limit', '64', ...TINY_MODEL_ARGS, '--out', out];

  it('names a missing data directory and the files it should hold', async () => {
    const missing = join(dir, 'no-such-dir');
    const r = await runCli([...base(join(dir, 'o1')), '--data-dir', missing]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^awnet train: data directory ${missing} does not exist; expected it to hold .*train-images-idx3-ubyte.gz[\\s\\S]*\\[DATA_DIR_NOT_FOUND\\]`, 'm'));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('names a corrupt file and what is wrong with it', async () => {
    const data = join(dir, 'corrupt');
    await mkdir(data, { recursive: true });
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x00000801, 0); // a label-file magic where images belong
    await writeFile(join(data, 'train-images-idx3-ubyte.gz'), gzipSync(header));
    await writeFile(join(data, 'train-labels-idx1-ubyte.gz'), gzipSync(header.subarray(0, 8)));
    const r = await runCli([...base(join(dir, 'o2')), '--data-dir', data]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /awnet train: .*train-images-idx3-ubyte\.gz has bad magic number 0x00000801; expected 0x00000803[\s\S]*\[DATA_BAD_MAGIC\]/);
  });

  it('rejects bad option values naming the option and the valid range', async () => {
    const [r, mode, choice, missingTeacher] = await Promise.all([
      runCli([...base(join(dir, 'o3')), '--batch-size', '1']),
      runCli([...base(join(dir, 'o4')), '--mode', 'mtard']),
      runCli([...base(join(dir, 'o5')), '--variant', 'bogus']),
      runCli([...base(join(dir, 'o6')), '--mode', 'mtard', '--teacher-clean', join(dir, 'nope'), '--teacher-adv', join(dir, 'nope')]),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /awnet train: --batch-size must be an integer ≥ 2, got 1[\s\S]*\[TRAIN_BAD_OPTION\]/);
    assert.equal(mode.code, 1);
    assert.match(mode.stderr, /--mode mtard needs --teacher-clean <checkpoint> and --teacher-adv <checkpoint>/);
    assert.notEqual(choice.code, 0);
    assert.match(choice.stderr, /argument 'bogus' is invalid\. Allowed choices are static, dynamic-only, mixbn-single-bn, awnet/);
    assert.equal(missingTeacher.code, 1);
    assert.match(missingTeacher.stderr, /awnet train: checkpoint directory .*nope does not exist[\s\S]*\[CHECKPOINT_MISSING\]/);
  });

  it('refuses out-of-range objective options, naming the option, the range and the value, and lists them in --help', async () => {
    const cases: [string[], RegExp][] = [
      [['--mode', 'gairat', '--gairat-lambda', '-11'], /awnet train: --gairat-lambda must be a number in \[-10, 10\], got -11[\s\S]*\[TRAIN_BAD_OPTION\]/],
      [['--mode', 'gairat', '--gairat-burn-in', '1.5'], /awnet train: --gairat-burn-in must be a number in \[0, 1\], got 1\.5[\s\S]*\[TRAIN_BAD_OPTION\]/],
      [['--mode', 'margin', '--margin-cap', '101'], /awnet train: --margin-cap must be a number in \[0, 100\], got 101[\s\S]*\[TRAIN_BAD_OPTION\]/],
      [['--mode', 'margin', '--margin-weight', '-1'], /awnet train: option '--margin-weight <x>' argument '-1' is invalid[\s\S]*\[CLI_BAD_USAGE\]/],
      [['--mode', 'ar-at', '--ar-at-weight', '1001'], /awnet train: --ar-at-weight must be a number in \[0, 1000\], got 1001[\s\S]*\[TRAIN_BAD_OPTION\]/],
      [['--mode', 'gairt'], /argument 'gairt' is invalid\. Allowed choices are pgd-at, trades, mtard, gairat, margin, ar-at/],
    ];
    const [help, ...results] = await Promise.all([
      runCli(['train', '--help']),
      ...cases.map(([args], i) => runCli([...base(join(dir, `objective-${i}`)), ...args])),
    ]);
    for (const [i, [args, expected]] of cases.entries()) {
      const r = results[i]!;
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, expected);
    }
    for (const option of ['--gairat-lambda', '--gairat-burn-in', '--margin-weight', '--margin-cap', '--ar-at-weight']) assert.match(help.stdout, new RegExp(option));
  });
});
