import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { decodePixels, DEFAULT_MAX_INPUT_PIXELS, type PixelShape } from '../../src/image/decode.js';
import { encodeImage } from '../../src/image/encode.js';
import { pattern, rejectsWithKind, tempDir } from './helpers.js';

const GREY: PixelShape = { channels: 1, height: 8, width: 8 };
const HWC = { layout: 'hwc' } as const;

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG whose header claims width × height and whose pixel data is garbage: tiny on the wire, huge if decoded. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8);
  ihdr.writeUInt8(0, 9);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodePixels failures', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => ({ dir, cleanup } = await tempDir('image-errors')));
  after(() => cleanup());

  it('empty: zero bytes, in a buffer or a file', async () => {
    await rejectsWithKind(decodePixels(Buffer.alloc(0), GREY, HWC), 'empty', /empty input/);
    const file = join(dir, 'empty.png');
    await writeFile(file, '');
    await rejectsWithKind(decodePixels(file, GREY, HWC), 'empty');
  });

  it('unreadable: a missing file or a folder', async () => {
    const missing = await rejectsWithKind(decodePixels(join(dir, 'absent.png'), GREY, HWC), 'unreadable', /ENOENT/);
    assert.match(missing.reason ?? '', /absent\.png/);
    await mkdir(join(dir, 'folder.png'));
    await rejectsWithKind(decodePixels(join(dir, 'folder.png'), GREY, HWC), 'unreadable', /not a regular file/);
  });

  it('not-an-image: bytes of no known format', async () => {
    await rejectsWithKind(decodePixels(Buffer.from('this is text, not pixels'), GREY, HWC), 'not-an-image', /decodable formats: jpeg, png, webp, gif, tiff, avif/);
    const file = join(dir, 'text.jpg');
    await writeFile(file, 'this is not a jpeg');
    await rejectsWithKind(decodePixels(file, GREY, HWC), 'not-an-image');
  });

  it('unsupported-format: a format sharp reads but training and serving do not', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    const error = await rejectsWithKind(decodePixels(svg, GREY, HWC), 'unsupported-format', /a svg image; decodable formats/);
    assert.equal(error.format, 'svg');
  });

  it('corrupt: truncated images of each common format', async () => {
    const shape: PixelShape = { channels: 3, height: 16, width: 16 };
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const whole = await encodeImage(pattern(shape), shape, format);
      const error = await rejectsWithKind(decodePixels(whole.subarray(0, Math.floor(whole.length * 0.6)), shape, HWC), 'corrupt', /truncated or corrupt/);
      assert.ok((error.reason ?? '').length > 0, `${format}: the decoder's reason is kept`);
    }
  });

  it('too-large: refused from the header, before any pixel is decoded', async () => {
    const bomb = pngClaiming(100_000, 100_000);
    const before = process.memoryUsage().rss;
    const error = await rejectsWithKind(decodePixels(bomb, GREY, { layout: 'chw', maxInputPixels: 4096 * 4096 }), 'too-large', /100000 x 100000 pixels/);
    assert.deepEqual([error.width, error.height, error.limit], [100_000, 100_000, 4096 * 4096]);
    // Decoding would need 10 GB (and the garbage pixel data would make it 'corrupt').
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
    // Without a limit of the caller's, sharp's own default applies.
    const byDefault = await rejectsWithKind(decodePixels(bomb, GREY, HWC), 'too-large');
    assert.equal(byDefault.limit, DEFAULT_MAX_INPUT_PIXELS);
    // A truncated image over the limit is refused for its size: decoding never started.
    const shape: PixelShape = { channels: 1, height: 28, width: 28 };
    const whole = await encodeImage(pattern(shape), shape, 'png');
    await rejectsWithKind(decodePixels(whole.subarray(0, whole.length >> 1), shape, { layout: 'hwc', maxInputPixels: 28 * 27 }), 'too-large', /28 x 28 pixels, more than the limit of 756/);
    // The same image within the limit decodes.
    assert.equal((await decodePixels(whole, shape, { layout: 'hwc', maxInputPixels: 28 * 28 })).length, 28 * 28);
  });
});
