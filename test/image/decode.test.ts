import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodePixels, type PixelShape } from '../../src/image/decode.js';
import { encodeImage } from '../../src/image/encode.js';
import { pattern, tempDir, thirds, toHwc } from './helpers.js';

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];

function pixelAt(hwc: Float32Array, shape: PixelShape, x: number, y: number): number[] {
  const at = (y * shape.width + x) * shape.channels;
  return Array.from(hwc.subarray(at, at + shape.channels));
}

describe('decodePixels: one resize policy, cover and centre crop', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => ({ dir, cleanup } = await tempDir('image')));
  after(() => cleanup());

  it('keeps the middle third of a 3:1 image at scale 1, exactly', async () => {
    // 30 × 10, thirds red | green | blue; a 10 × 10 model sees only the green middle.
    const png = await encodeImage(thirds(30, 10, [RED, GREEN, BLUE]), { channels: 3, height: 10, width: 30 }, 'png');
    const shape: PixelShape = { channels: 3, height: 10, width: 10 };
    const hwc = await decodePixels(png, shape, { layout: 'hwc' });
    assert.equal(hwc.length, 10 * 10 * 3);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) assert.deepEqual(pixelAt(hwc, shape, x, y), [0, 1, 0], `pixel ${x},${y}`);
  });

  it('scales to cover, then crops: a stretch would show the outer thirds at the edges', async () => {
    // 90 × 30 grey thirds 0 | 128 | 255 → 30 × 10 after scaling, centre 10 columns kept.
    const png = await encodeImage(thirds(90, 30, [[0], [128], [255]]), { channels: 1, height: 30, width: 90 }, 'png');
    const shape: PixelShape = { channels: 1, height: 10, width: 10 };
    const hwc = await decodePixels(png, shape, { layout: 'hwc' });
    const column = (x: number) => Array.from({ length: 10 }, (_, y) => hwc[y * 10 + x]!);
    for (let x = 2; x < 8; x++) for (const v of column(x)) assert.ok(Math.abs(v - 128 / 255) < 1 / 255, `inner column ${x}: ${v}`);
    // The resampling kernel reaches a little past the crop, so the edge columns may lean
    // towards their neighbours, but they stay far from the 0 and 1 a stretch would give.
    for (const x of [0, 9]) for (const v of column(x)) assert.ok(Math.abs(v - 128 / 255) < 0.15, `edge column ${x}: ${v}`);
  });

  it('crops a tall image top and bottom', async () => {
    // 10 wide × 40 tall; rows in thirds, made by transposing the column thirds.
    const wide = thirds(40, 10, [[255], [60], [0]]);
    const tall = new Uint8Array(40 * 10);
    for (let y = 0; y < 40; y++) for (let x = 0; x < 10; x++) tall[y * 10 + x] = wide[x * 40 + y]!;
    const png = await encodeImage(tall, { channels: 1, height: 40, width: 10 }, 'png');
    const chw = await decodePixels(png, { channels: 1, height: 5, width: 5 }, { layout: 'chw' });
    // 10 × 40 → 5 × 20 → rows 7.5..12.5 of 20: inside the middle third (6.7..13.3).
    for (const v of chw) assert.ok(Math.abs(v - 60 / 255) < 0.05, `value ${v}`);
  });

  it('does not resample an image already at the model size', async () => {
    const shape: PixelShape = { channels: 3, height: 12, width: 20 };
    const bytes = pattern(shape);
    const hwc = await decodePixels(await encodeImage(bytes, shape, 'png'), shape, { layout: 'hwc' });
    assert.deepEqual(Array.from(hwc), Array.from(bytes, (v) => Math.fround(v / 255)));
  });

  it('gives the same pixels in hwc and chw layouts', async () => {
    const source: PixelShape = { channels: 3, height: 17, width: 41 };
    const png = await encodeImage(pattern(source), source, 'png');
    for (const shape of [{ channels: 3, height: 9, width: 7 }, { channels: 1, height: 8, width: 8 }] as const) {
      const hwc = await decodePixels(png, shape, { layout: 'hwc' });
      const chw = await decodePixels(png, shape, { layout: 'chw' });
      assert.equal(chw.length, shape.channels * shape.height * shape.width);
      assert.deepEqual(toHwc(chw, shape), hwc);
    }
  });

  it('reads a file path exactly as the same bytes', async () => {
    const source: PixelShape = { channels: 3, height: 15, width: 25 };
    const jpeg = await encodeImage(pattern(source), source, 'jpeg');
    const file = join(dir, 'p.jpg');
    await writeFile(file, jpeg);
    const shape: PixelShape = { channels: 3, height: 10, width: 10 };
    assert.deepEqual(await decodePixels(file, shape, { layout: 'chw' }), await decodePixels(jpeg, shape, { layout: 'chw' }));
  });

  it('orients by EXIF before sizing, also when a quarter turn makes the image fit the model', async () => {
    // Stored 32 wide × 16 tall, left half white; orientation 6 shows it 16 wide × 32 tall
    // with the white half on top, which is exactly a 16 × 32 model input.
    const stored = new Uint8Array(32 * 16).map((_, i) => (i % 32 < 16 ? 255 : 0));
    const webp = await encodeImage(stored, { channels: 1, height: 16, width: 32 }, 'webp', { orientation: 6 });
    assert.equal((await sharp(webp).metadata()).orientation, 6);
    const shape: PixelShape = { channels: 1, height: 32, width: 16 };
    const hwc = await decodePixels(webp, shape, { layout: 'hwc' });
    assert.ok(hwc.subarray(0, 16 * 16).every((v) => v === 1), 'top half white');
    assert.ok(hwc.subarray(16 * 16).every((v) => v === 0), 'bottom half black');

    // Stored 16 wide × 32 tall (the model's size), top half white; turned, it shows 32 wide ×
    // 16 tall, black left and white right, so it is scaled by 2 and its centre kept.
    const upright = new Uint8Array(16 * 32).map((_, i) => (i < 16 * 16 ? 255 : 0));
    const turned = await encodeImage(upright, { channels: 1, height: 32, width: 16 }, 'webp', { orientation: 6 });
    const cropped = await decodePixels(turned, shape, { layout: 'hwc' });
    for (let y = 0; y < 32; y++) {
      const row = cropped.subarray(y * 16, (y + 1) * 16);
      assert.ok(row.subarray(0, 6).every((v) => v < 0.05), `row ${y} black on the left: ${Array.from(row).join(' ')}`);
      assert.ok(row.subarray(10).every((v) => v > 0.95), `row ${y} white on the right: ${Array.from(row).join(' ')}`);
    }
  });

  it('decodes a one-band grey PNG to one channel, byte-exact', async () => {
    const grey = Buffer.alloc(28 * 28);
    for (let i = 0; i < grey.length; i++) grey[i] = (i * 37) % 256;
    const png = await sharp(grey, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const meta = await sharp(png).metadata();
    assert.equal(meta.channels, 1);
    const pixels = await decodePixels(png, { channels: 1, height: 28, width: 28 }, { layout: 'chw' });
    assert.equal(pixels.length, 28 * 28);
    for (let i = 0; i < grey.length; i++) assert.equal(Math.round(pixels[i]! * 255), grey[i]);
  });

  it('flattens alpha onto black and keeps the first frame only', async () => {
    const rgba = new Uint8Array(6 * 6 * 4);
    for (let i = 0; i < 36; i++) rgba.set([255, 255, 255, i < 18 ? 255 : 0], i * 4);
    const png = await sharp(Buffer.from(rgba), { raw: { width: 6, height: 6, channels: 4 } }).png().toBuffer();
    const grey = await decodePixels(png, { channels: 1, height: 6, width: 6 }, { layout: 'hwc' });
    assert.deepEqual(Array.from(grey), [...Array<number>(18).fill(1), ...Array<number>(18).fill(0)]);

    const frames = new Uint8Array(2 * 8 * 8).fill(255, 0, 64); // frame 1 white, frame 2 black
    const gif = await encodeImage(frames, { channels: 1, height: 8, width: 8 }, 'gif', { frames: 2 });
    const first = await decodePixels(gif, { channels: 1, height: 4, width: 4 }, { layout: 'chw' });
    assert.ok(first.every((v) => v > 0.95), 'first frame is white');
  });
});
