import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { describe, it } from 'node:test';
import { IMAGE_FORMATS } from '../../src/server/errors.js';
import { decodeImage, encodeImage, type PixelShape } from '../../src/server/image.js';

const GREY: PixelShape = { channels: 1, height: 28, width: 28 };
const RGB: PixelShape = { channels: 3, height: 16, width: 16 };
const LIMIT = { maxInputPixels: 4096 * 4096 };

/** A smooth grey gradient (lossy codecs keep it well), values 0..255. */
function gradient(shape: PixelShape): Uint8Array {
  const out = new Uint8Array(shape.height * shape.width * shape.channels);
  for (let y = 0; y < shape.height; y++) {
    for (let x = 0; x < shape.width; x++) {
      for (let c = 0; c < shape.channels; c++) {
        out[(y * shape.width + x) * shape.channels + c] = Math.round(((x + y) / (shape.width + shape.height - 2)) * 255 * (1 - c * 0.3));
      }
    }
  }
  return out;
}

function maxError(decoded: Float32Array, hwc: Uint8Array, shape: PixelShape): number {
  const plane = shape.height * shape.width;
  let worst = 0;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < shape.channels; c++) {
      worst = Math.max(worst, Math.abs(decoded[c * plane + i]! - hwc[i * shape.channels + c]! / 255));
    }
  }
  return worst;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG whose IHDR claims width × height, followed by a few bytes of image data: tiny on the wire, huge if decoded. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(0, 9); // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error & { code?: string }) => {
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

describe('decodeImage', () => {
  for (const format of IMAGE_FORMATS) {
    it(`decodes ${format} to NCHW floats in [0, 1] (grey and RGB)`, async () => {
      for (const shape of [GREY, RGB]) {
        const hwc = gradient(shape);
        const decoded = await decodeImage(await encodeImage(hwc, shape, format), shape, LIMIT);
        assert.equal(decoded.length, shape.channels * shape.height * shape.width);
        assert.ok(decoded.every((v) => v >= 0 && v <= 1));
        // Lossless formats round-trip exactly; JPEG, GIF's palette and AVIF's colour conversion come close.
        const tolerance = format === 'png' || format === 'webp' || format === 'tiff' ? 1e-6 : 0.08;
        assert.ok(maxError(decoded, hwc, shape) <= tolerance, `${format} ${shape.channels}ch error ${maxError(decoded, hwc, shape)}`);
      }
    });
  }

  it('resizes to the model input and converts colour to grey and grey to colour', async () => {
    const big: PixelShape = { channels: 3, height: 90, width: 60 };
    const white = new Uint8Array(big.height * big.width * 3).fill(255);
    const grey = await decodeImage(await encodeImage(white, big, 'png'), GREY, LIMIT);
    assert.equal(grey.length, 28 * 28);
    assert.ok(grey.every((v) => Math.abs(v - 1) < 1e-6));
    const mid = new Uint8Array(28 * 28).fill(128);
    const rgb = await decodeImage(await encodeImage(mid, GREY, 'png'), RGB, LIMIT);
    assert.equal(rgb.length, 3 * 16 * 16);
    assert.ok(rgb.every((v) => Math.abs(v - 128 / 255) < 0.01));
  });

  it('uses the first frame of an animated GIF', async () => {
    const frames = new Uint8Array(2 * 28 * 28);
    frames.fill(255, 0, 28 * 28); // frame 1 white, frame 2 black
    const gif = await encodeImage(frames, GREY, 'gif', { frames: 2 });
    const decoded = await decodeImage(gif, GREY, LIMIT);
    assert.ok(decoded.every((v) => v > 0.95), 'first frame is white');
  });

  it('refuses a header claiming 100,000 × 100,000 pixels before decoding, in bounded memory', async () => {
    const bomb = pngClaiming(100_000, 100_000);
    assert.ok(bomb.length < 100);
    const before = process.memoryUsage().rss;
    await rejectsWith(decodeImage(bomb, GREY, LIMIT), 'AWNET_IMAGE_TOO_LARGE', /100000 x 100000 pixels; at most 16777216/);
    // Decoding would need 10 GB; refusing from the header needs next to nothing.
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
    // The limit is the configured one, whatever it is.
    const small = await encodeImage(gradient(GREY), GREY, 'png');
    await rejectsWith(decodeImage(small, GREY, { maxInputPixels: 28 * 27 }), 'AWNET_IMAGE_TOO_LARGE', /28 x 28/);
  });

  it('refuses empty input, non-images, truncated images and foreign formats with their codes', async () => {
    await rejectsWith(decodeImage(Buffer.alloc(0), GREY, { ...LIMIT, source: "'a.png'" }), 'AWNET_EMPTY_BODY', /'a.png' is empty/);
    await rejectsWith(decodeImage(Buffer.from('this is text, not pixels'), GREY, LIMIT), 'AWNET_NOT_AN_IMAGE', /valid formats: jpeg, png/);
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const whole = await encodeImage(gradient(RGB), RGB, format);
      const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
      await rejectsWith(decodeImage(truncated, RGB, LIMIT), 'AWNET_CORRUPT_IMAGE', /truncated or corrupt/);
    }
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await rejectsWith(decodeImage(svg, GREY, LIMIT), 'AWNET_UNSUPPORTED_IMAGE_FORMAT', /svg image; valid formats/);
  });

  it('reads 16-bit images as 8-bit values and applies EXIF orientation', async () => {
    const hwc = gradient(GREY);
    const png16 = await encodeImage(hwc, GREY, 'png', { bitDepth: 16 });
    assert.ok(maxError(await decodeImage(png16, GREY, LIMIT), hwc, GREY) < 0.01);
    // Left half white, right half black; orientation 6 means "rotate 90° clockwise to view",
    // which puts the white half on top.
    const halves = new Uint8Array(28 * 28).map((_, i) => (i % 28 < 14 ? 255 : 0));
    const rotated = await decodeImage(await encodeImage(halves, GREY, 'jpeg', { orientation: 6 }), GREY, LIMIT);
    const mean = (from: number, to: number) => rotated.subarray(from, to).reduce((a, v) => a + v, 0) / (to - from);
    assert.ok(mean(0, 28 * 12) > 0.9, 'top rows white');
    assert.ok(mean(28 * 16, 28 * 28) < 0.1, 'bottom rows black');
  });

  it('flattens transparency onto black', async () => {
    const shape: PixelShape = { channels: 3, height: 4, width: 4 };
    const rgba = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) rgba.set([255, 255, 255, i < 8 ? 255 : 0], i * 4);
    const png = await encodeImage(rgba, { channels: 4 as 3, height: 4, width: 4 }, 'png');
    const decoded = await decodeImage(png, shape, LIMIT);
    assert.ok(decoded[0]! > 0.99, 'opaque white stays white');
    assert.ok(decoded[15]! < 0.01, 'transparent becomes black');
  });
});
