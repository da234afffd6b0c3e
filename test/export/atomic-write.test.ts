import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic, writeFilesAtomic } from '../../export/atomic-write.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'awnet-atomic-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('writes the bytes and leaves no temporary file', () =>
  withDir(async (dir) => {
    const path = join(dir, 'm.onnx');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
    await writeFileAtomic(path, 'replaced');
    assert.equal(await readFile(path, 'utf8'), 'replaced');
    assert.deepEqual(await readdir(dir), ['m.onnx']);
  }));

test('a failure leaves neither a partial file nor a temporary one, and keeps the old file', () =>
  withDir(async (dir) => {
    const first = join(dir, 'm.onnx');
    await writeFile(first, 'old model');
    const unwritable = join(dir, 'no-such-dir', 'm.json');
    await assert.rejects(
      writeFilesAtomic([
        { path: first, data: 'new model' },
        { path: unwritable, data: '{}' },
      ]),
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
    assert.equal(await readFile(first, 'utf8'), 'old model');
    assert.deepEqual(await readdir(dir), ['m.onnx']);
  }));

test('a target that is a directory fails after staging, and the staged files are removed', () =>
  withDir(async (dir) => {
    const target = join(dir, 'taken.onnx');
    await writeFile(join(dir, 'keep.txt'), 'x');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(target, 'inside'), { recursive: true }));
    await assert.rejects(writeFileAtomic(target, 'data'));
    assert.deepEqual((await readdir(dir)).sort(), ['keep.txt', 'taken.onnx']);
  }));
