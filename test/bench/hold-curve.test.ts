import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'hold-curve.js');

/** The parts of an evaluate report's model entry the trade-off reads. */
function entry(cap: number, clean: number, aa: number, worst: number, through: number, flags: number[]): object {
  return {
    name: `m@cap${cap}`,
    variant: 'awnet',
    hold: { pCleanCap: cap, omegaBound: null },
    cleanAccuracy: clean,
    attackedCleanAccuracy: clean,
    attacks: [{ id: 'aa-fast', accuracy: aa }],
    worstCase: { accuracy: worst, wRobust: (clean + worst) / 2, getsThrough: through },
    benign: flags.map((f, i) => ({ id: `b${i}`, flagRate: f })),
  };
}

const report = (models: object[], seed = 0): object => ({ dataset: 'fashion-mnist', split: 'train[validation: 200 of 5000 held out, seed 1]', count: 200, attackCount: 100, eps: 0.1, seed, models });

describe('npm run bench:hold', () => {
  it('draws each figure against the cap from several reports on the same images, and refuses reports on different ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awnet-hold-curve-'));
    try {
      await writeFile(join(dir, 'a.json'), JSON.stringify(report([entry(1, 0.9, 0.5, 0.48, 0.4, [0.01, 0.03]), { name: 'static', variant: 'static' }])));
      await writeFile(join(dir, 'b.json'), JSON.stringify(report([entry(0.5, 0.88, 0.6, 0.58, 0.3, [0.02])])));
      const { stdout } = await run(process.execPath, [script, join(dir, 'a.json'), join(dir, 'b.json'), '--out', join(dir, 'curve')]);
      assert.match(stdout, /cap0\.5 +88\.00 +60\.00 +58\.00 +73\.00 +30\.00 +2\.00 b0/);
      const written = JSON.parse(await readFile(join(dir, 'curve.json'), 'utf8')) as { rows: { cap: number; maxBenignFlag: number }[] };
      assert.deepEqual(written.rows.map((r) => [r.cap, r.maxBenignFlag]), [[0.5, 0.02], [1, 0.03]], 'AW-Net rows only, by cap, the most-flagged benign change');
      const svg = await readFile(join(dir, 'curve.svg'), 'utf8');
      for (const figure of ['clean', 'AutoAttack (fast)', 'worst case gets through']) assert.ok(svg.includes(figure), `the SVG names ${figure}`);
      assert.ok(existsSync(join(dir, 'curve.png')));

      await writeFile(join(dir, 'c.json'), JSON.stringify(report([entry(0.25, 0.87, 0.6, 0.6, 0.3, [0.02])], 7)));
      await assert.rejects(run(process.execPath, [script, join(dir, 'a.json'), join(dir, 'c.json'), '--out', join(dir, 'x')]), /must cover the same images, seed and eps/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
