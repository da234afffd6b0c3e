import assert from 'node:assert/strict';
import net from 'node:net';
import { crc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { image, metricValue, multipart, startServer, type TestServer } from '../helpers.js';
import { writeSyntheticModel } from '../synthetic-model.js';

const BODY_LIMIT = 64 * 1024;
const MAX_FILES = 3;

function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', Buffer.from('789c6300000001000100', 'hex')), chunk('IEND', Buffer.alloc(0))]);
}

/** Sends headers and part of a body on a raw socket, then drops the connection. */
function disconnectMidUpload(url: string, path: string, headers: Record<string, string>, partial: Buffer, declared: number): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      const head = [`POST ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, `Content-Length: ${declared}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      socket.write(partial, () => setTimeout(() => socket.destroy(), 50));
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

describe('bad input on a real port: a 4xx with its code, no crash, good clients still served', () => {
  let server: TestServer;
  let goodClient: Promise<number[]>;
  let stop = false;

  before(async () => {
    server = await startServer([writeSyntheticModel({ name: 'm' })], { AWNET_BODY_LIMIT_BYTES: String(BODY_LIMIT), AWNET_MAX_FILES: String(MAX_FILES) }, { listen: true });
    const good = await image(0.3);
    // A well-behaved client keeps classifying while the bad requests arrive.
    goodClient = (async () => {
      const statuses: number[] = [];
      while (!stop) {
        const res = await fetch(`${server.url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: good });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      return statuses;
    })();
  });

  after(async () => {
    stop = true;
    await goodClient;
    await server.close();
  });

  async function expectError(res: Response, status: number, code: string, message?: RegExp): Promise<void> {
    const body = (await res.json()) as { code: string; error: string; statusCode: number };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.code, code);
    assert.equal(body.statusCode, status);
    if (message) assert.match(body.error, message);
  }

  const classify = (body: string | Buffer | undefined, contentType?: string, path = '/v1/classify') =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, ...(body !== undefined ? { body } : {}) });
  const infer = (body: unknown, model = 'm') =>
    fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const tensor = (over: Record<string, unknown> = {}) => ({ inputs: [{ name: 'pixels', shape: [1, 1, 28, 28], datatype: 'FP32', data: new Array(784).fill(0.5), ...over }] });

  it('empty body', async () => {
    await expectError(await classify(Buffer.alloc(0), 'image/png'), 400, 'AWNET_EMPTY_BODY');
    await expectError(await classify(undefined), 400, 'AWNET_EMPTY_BODY', /^No image in the request: send image\/\*/);
    const { body, contentType } = multipart([]);
    await expectError(await classify(body, contentType), 400, 'AWNET_EMPTY_BODY', /no file in the field/);
    await expectError(await infer(''), 400, 'AWNET_EMPTY_BODY', /^The request has no body: send an Open Inference Protocol JSON body with the input tensor 'pixels'$/);
  });

  it('not an image, and an image in a refused format', async () => {
    await expectError(await classify(Buffer.from('GIF? no: plain text'), 'image/png'), 400, 'AWNET_NOT_AN_IMAGE', /the body is not an image/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>');
    await expectError(await classify(svg, 'image/svg+xml'), 415, 'AWNET_UNSUPPORTED_IMAGE_FORMAT', /svg/);
  });

  it('truncated image', async () => {
    const whole = await image(0.5, 'png', 3, { channels: 3, height: 64, width: 64 });
    await expectError(await classify(whole.subarray(0, whole.length / 2), 'image/png'), 400, 'AWNET_CORRUPT_IMAGE');
    const { body, contentType } = multipart([{ name: 'cut.jpg', data: (await image(0.5, 'jpeg')).subarray(0, 200), type: 'image/jpeg' }]);
    await expectError(await classify(body, contentType), 400, 'AWNET_CORRUPT_IMAGE', /'cut.jpg'/);
  });

  it('a header claiming 100,000 × 100,000 pixels', async () => {
    const before = process.memoryUsage().rss;
    await expectError(await classify(pngClaiming(100_000, 100_000), 'image/png'), 413, 'AWNET_IMAGE_TOO_LARGE', /100000 x 100000/);
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'refused without decoding');
  });

  it('upload over the size limit (raw body and multipart file)', async () => {
    const big = Buffer.alloc(BODY_LIMIT + 1, 7);
    await expectError(await classify(big, 'image/png'), 413, 'AWNET_PAYLOAD_TOO_LARGE', new RegExp(String(BODY_LIMIT)));
    const { body, contentType } = multipart([{ name: 'big.png', data: big }]);
    await expectError(await classify(body, contentType), 413, 'AWNET_PAYLOAD_TOO_LARGE');
    await expectError(await infer(JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) })), 413, 'AWNET_PAYLOAD_TOO_LARGE');
  });

  it('too many files', async () => {
    const one = await image(0.3);
    const { body, contentType } = multipart(Array.from({ length: MAX_FILES + 1 }, (_, i) => ({ name: `${i}.png`, data: one })));
    await expectError(await classify(body, contentType), 413, 'AWNET_TOO_MANY_FILES', /at most 3/);
    const ok = multipart(Array.from({ length: MAX_FILES }, (_, i) => ({ name: `${i}.png`, data: one })));
    assert.equal((await classify(ok.body, ok.contentType)).status, 200);
  });

  it('unsupported content type', async () => {
    await expectError(await classify('hello', 'text/plain'), 415, 'AWNET_UNSUPPORTED_MEDIA_TYPE', /'text\/plain'.*image\/\*/);
    await expectError(await classify('{"a":1}', 'application/json'), 415, 'AWNET_UNSUPPORTED_MEDIA_TYPE');
    await expectError(await classify(await image(0.3), 'application/x-www-form-urlencoded'), 415, 'AWNET_UNSUPPORTED_MEDIA_TYPE', /application\/octet-stream/);
    const res = await fetch(`${server.url}/v2/models/m/infer`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: await image(0.3) });
    await expectError(res, 415, 'AWNET_UNSUPPORTED_MEDIA_TYPE', /application\/json/);
  });

  it('application/octet-stream: the image is told by its bytes, and bytes of no image are named so', async () => {
    const png = await image(0.3);
    const asPng = (await (await classify(png, 'image/png')).json()) as { results: unknown[] };
    const asBytes = await classify(png, 'application/octet-stream');
    assert.equal(asBytes.status, 200);
    assert.deepEqual(((await asBytes.json()) as { results: unknown[] }).results, asPng.results);
    await expectError(await classify('hello, not an image', 'application/octet-stream'), 400, 'AWNET_NOT_AN_IMAGE', /the body is not an image/);
  });

  it('multipart with a wrong field name', async () => {
    const { body, contentType } = multipart([{ name: 'a.png', data: await image(0.3), field: 'file' }]);
    await expectError(await classify(body, contentType), 400, 'AWNET_WRONG_FIELD', /'file' is not accepted/);
    const broken = 'multipart/form-data; boundary=nothing-matches';
    await expectError(await classify('garbage without parts', broken), 400, 'AWNET_INVALID_REQUEST', /multipart/);
  });

  it('OIP: wrong shape, datatype, length, tensor names, unknown model, bad values, bad schema', async () => {
    await expectError(await infer(tensor({ shape: [1, 3, 28, 28], data: new Array(3 * 784).fill(0) })), 400, 'AWNET_WRONG_SHAPE', /\[N, 1, 28, 28\]/);
    await expectError(await infer(tensor({ shape: [784] })), 400, 'AWNET_WRONG_SHAPE');
    await expectError(await infer(tensor({ shape: [0, 1, 28, 28], data: [] })), 400, 'AWNET_WRONG_SHAPE');
    await expectError(await infer(tensor({ datatype: 'INT32' })), 400, 'AWNET_WRONG_DATATYPE', /INT32; valid: FP32/);
    await expectError(await infer(tensor({ data: new Array(783).fill(0) })), 400, 'AWNET_WRONG_LENGTH', /783 numbers.*784/);
    await expectError(await infer(tensor({ shape: [2, 1, 28, 28] })), 400, 'AWNET_WRONG_LENGTH');
    await expectError(await infer(tensor({ name: 'image' })), 400, 'AWNET_UNKNOWN_TENSOR', /'image'.*valid: pixels/);
    await expectError(await infer({ ...tensor(), outputs: [{ name: 'features' }] }), 400, 'AWNET_UNKNOWN_TENSOR', /features/);
    await expectError(await infer(tensor(), 'nope'), 404, 'AWNET_UNKNOWN_MODEL', /'nope'/);
    await expectError(await infer(tensor({ data: [...new Array(783).fill(0), 'x'] })), 400, 'AWNET_INVALID_REQUEST', /"x"/);
    await expectError(await infer({ inputs: [] }), 400, 'AWNET_INVALID_REQUEST');
    await expectError(await infer({ input: tensor().inputs }), 400, 'AWNET_INVALID_REQUEST', /inputs/);
    const deep = tensor({ data: [[[[[[0.5]]]]]] });
    await expectError(await infer(deep), 400, 'AWNET_INVALID_REQUEST', /nested/);
  });

  it('malformed JSON', async () => {
    await expectError(await infer('{"inputs": [ {"name": "pixels", '), 400, 'AWNET_MALFORMED_JSON');
  });

  it('a client that disconnects mid-upload', async () => {
    const counted = async () => metricValue(await (await fetch(`${server.adminUrl}/metrics`)).text(), 'awnet_errors_total', { code: 'AWNET_CLIENT_DISCONNECTED' });
    const before = await counted();
    const png = await image(0.3, 'png', 9, { channels: 3, height: 48, width: 48 });
    await disconnectMidUpload(server.url, '/v1/classify', { 'Content-Type': 'image/png' }, png.subarray(0, 100), png.length);
    const { body, contentType } = multipart([{ name: 'a.png', data: png }]);
    await disconnectMidUpload(server.url, '/v1/classify', { 'Content-Type': contentType }, body.subarray(0, 300), body.length);
    await disconnectMidUpload(server.url, '/v2/models/m/infer', { 'Content-Type': 'application/json' }, Buffer.from('{"inputs":'), 5000);
    let after = before;
    for (let i = 0; i < 50 && after < before + 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await counted();
    }
    assert.equal(after - before, 3, 'each disconnect is seen and counted');
  });

  it('never answered with a 5xx, and the good client was served throughout', async () => {
    stop = true;
    const statuses = await goodClient;
    assert.ok(statuses.length > 5, `good client made ${statuses.length} requests`);
    assert.ok(statuses.every((s) => s === 200), `good client saw ${[...new Set(statuses)]}`);
    const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
    const fivexx = text.split('\n').filter((l) => l.startsWith('awnet_http_requests_total{') && /status_code="5/.test(l));
    assert.deepEqual(fivexx, []);
    assert.ok(metricValue(text, 'awnet_errors_total') >= 30);
  });
});
