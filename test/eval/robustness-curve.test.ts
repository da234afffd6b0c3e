import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { svgToPng } from '../../src/eval/render-png.js';
import { curvePaths } from '../../src/eval/run-evaluation.js';
import { renderCurveSvg, seriesStroke, type CurveSeries } from '../../src/eval/robustness-curve.js';
import { writeCurveFiles } from '../../src/eval/write-files.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const SERIES: CurveSeries[] = [
  { name: 'awnet <tiny> & co', points: [{ eps: 0, accuracy: 0.9 }, { eps: 0.05, accuracy: 0.75 }, { eps: 0.1, accuracy: 0.6 }] },
  { name: 'static', points: [{ eps: 0.1, accuracy: 0.4 }, { eps: 0, accuracy: 0.92 }, { eps: 0.05, accuracy: 0.7 }] },
];

interface PngInfo {
  readonly width: number;
  readonly height: number;
  /** Bytes per scanline, the leading filter-type byte included. */
  readonly stride: number;
  /** Inflated, still filtered scanlines. */
  readonly raw: Buffer;
}

/** Reads the IHDR size and the concatenated IDAT data of a PNG, checking every chunk's framing. */
function parsePng(png: Buffer): PngInfo {
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, 'PNG signature');
  let offset = 8;
  let width = 0;
  let height = 0;
  let stride = 0;
  const idat: Buffer[] = [];
  let sawEnd = false;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, '8-bit samples');
      const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[data[9] as 0 | 2 | 4 | 6];
      assert.ok(channels !== undefined, `unexpected colour type ${data[9]}`);
      stride = 1 + width * channels;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') sawEnd = true;
    offset += 12 + length;
  }
  assert.ok(sawEnd, 'PNG ends with IEND');
  assert.equal(offset, png.length, 'chunks fill the file exactly');
  const raw = inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, stride * height, 'image data size matches IHDR');
  return { width, height, stride, raw };
}

/**
 * Sample bytes of the filtered scanlines (filter-type bytes skipped) that are neither 0
 * nor 255. Under every PNG filter a blank white image has none.
 */
function inkBytes(info: PngInfo): number {
  let n = 0;
  info.raw.forEach((b, i) => {
    if (i % info.stride !== 0 && b !== 0 && b !== 255) n++;
  });
  return n;
}

describe('robustness curve', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'awnet-curve-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders one line and one marker per point for each model, names escaped', () => {
    const svg = renderCurveSvg(SERIES, { title: 'Accuracy vs eps', xLabel: 'L∞ eps (PGD-10)' });
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="720" height="460"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.equal(svg.match(/<circle /g)?.length, 6);
    assert.ok(svg.includes('awnet &#60;tiny&#62; &#38; co'));
    assert.ok(!svg.includes('<tiny>'));
    // Points are drawn in eps order even when given out of order: the static line starts at eps 0.
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]?.split(' ') ?? []);
    const xs = (lines[1] ?? []).map((p) => Number(p.split(',')[0]));
    assert.deepEqual([...xs].sort((a, b) => a - b), xs);
  });

  it('draws more series than the palette has colours with dashed lines, no two alike, in the plot and the legend', () => {
    const many = Array.from({ length: 15 }, (_, i) => ({ name: `run ${i}`, points: [{ eps: 0, accuracy: 0.5 }, { eps: 0.1, accuracy: 0.4 - i / 100 }] }));
    const styles = many.map((_, i) => JSON.stringify(seriesStroke(i)));
    assert.equal(new Set(styles).size, 15);
    assert.deepEqual(seriesStroke(0).dash, '');
    const svg = renderCurveSvg(many);
    const dashedLines = svg.match(/<polyline [^>]*stroke-dasharray=/g)?.length ?? 0;
    const dashedLegend = svg.match(/<line [^>]*stroke-dasharray=/g)?.length ?? 0;
    assert.equal(dashedLines, 15 - 7, 'the first seven series are solid');
    assert.equal(dashedLegend, dashedLines);
  });

  it('renders to a well-formed, non-blank PNG at twice the SVG size', () => {
    const png = svgToPng(renderCurveSvg(SERIES));
    const info = parsePng(png);
    assert.equal(info.width, 1440);
    assert.equal(info.height, 920);
    const blank = parsePng(svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="460"><rect width="720" height="460" fill="#fff"/></svg>'));
    assert.equal(inkBytes(blank), 0, 'a blank SVG renders blank');
    assert.ok(inkBytes(info) > 5000, `the curve left too little ink: ${inkBytes(info)} bytes`);
  });

  it('writes both files and leaves no temporary file behind', async () => {
    const paths = { svg: join(dir, 'sub', 'curve.svg'), png: join(dir, 'sub', 'curve.png') };
    await writeCurveFiles(SERIES, paths, { title: 't' });
    const svg = await readFile(paths.svg, 'utf8');
    assert.match(svg, /^<svg /);
    const png = await readFile(paths.png);
    assert.ok(png.length > 1000);
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    assert.deepEqual((await readdir(join(dir, 'sub'))).sort(), ['curve.png', 'curve.svg']);
  });

  it('--curve-out names the pair whether or not it ends in .svg or .png; without it the curve goes beside --out', () => {
    const pair = { svg: 'runs/curve.svg', png: 'runs/curve.png' };
    assert.deepEqual(curvePaths({ curveOut: 'runs/curve' }), pair);
    assert.deepEqual(curvePaths({ curveOut: 'runs/curve.svg' }), pair);
    assert.deepEqual(curvePaths({ curveOut: 'runs/curve.PNG', out: 'x.json' }), { svg: 'runs/curve.svg', png: 'runs/curve.png' });
    assert.deepEqual(curvePaths({ out: 'runs/eval.json' }), { svg: join('runs', 'eval-curve.svg'), png: join('runs', 'eval-curve.png') });
    assert.equal(curvePaths({}), null);
  });

  it('rejects empty series, bad points and unwritable paths with stable codes', async () => {
    assert.throws(() => renderCurveSvg([]), { code: 'EVAL_BAD_INPUT' });
    assert.throws(() => renderCurveSvg([{ name: 'a', points: [] }]), { code: 'EVAL_BAD_INPUT' });
    assert.throws(() => renderCurveSvg([{ name: 'a', points: [{ eps: 0.1, accuracy: 1.5 }] }]), {
      code: 'EVAL_BAD_INPUT',
      message: /accuracy in \[0, 1\]; got eps 0.1, accuracy 1.5/,
    });
    const blocker = join(dir, 'file');
    await writeCurveFiles(SERIES, { svg: blocker, png: join(dir, 'file.png') });
    await assert.rejects(writeCurveFiles(SERIES, { svg: join(blocker, 'x.svg'), png: join(blocker, 'x.png') }), {
      code: 'EVAL_OUTPUT_UNWRITABLE',
      message: /cannot write .*x\.svg/,
    });
  });
});
