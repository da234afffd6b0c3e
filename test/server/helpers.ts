import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { encodeImage, type ImageFormat, type PixelShape } from '../../src/server/image.js';
import type { EngineFactory } from '../../src/server/inference/model-registry.js';

export const GREY_28: PixelShape = { channels: 1, height: 28, width: 28 };

export interface TestServer {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  /** http://127.0.0.1:port when listening, else ''. */
  readonly url: string;
  /** The admin server (/metrics) when listening, else ''. */
  readonly adminUrl: string;
  close(): Promise<void>;
}

function urlOf(server: FastifyInstance): string {
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** Builds the real app on the given model files with test-friendly settings; listens on a free port if asked. */
export async function startServer(
  models: readonly string[],
  env: Record<string, string> = {},
  options: { listen?: boolean; engineFactory?: EngineFactory } = {},
): Promise<TestServer> {
  const config = loadConfig({
    AWNET_MODELS: models.join(','),
    AWNET_EXECUTION_PROVIDERS: 'cpu',
    AWNET_PORT: '0',
    AWNET_ADMIN_PORT: '0',
    AWNET_HOST: '127.0.0.1',
    ...env,
  });
  const registry = new Registry();
  const app = await buildApp({ config, registry, logger: false, ...(options.engineFactory ? { engineFactory: options.engineFactory } : {}) });
  let url = '';
  let adminUrl = '';
  if (options.listen) {
    await app.listen({ host: config.host, port: 0 });
    await app.admin.listen({ host: config.host, port: 0 });
    url = urlOf(app);
    adminUrl = urlOf(app.admin);
  } else {
    await app.ready();
  }
  return { app, registry, url, adminUrl, close: () => app.close() };
}

/** A 28×28 grey image: a deterministic pattern whose mean brightness is about `mean` (0..1). */
export function greyPixels(mean: number, seed = 1, shape: PixelShape = GREY_28): Uint8Array {
  const out = new Uint8Array(shape.height * shape.width * shape.channels);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const jitter = ((s / 2 ** 31) - 0.5) * 0.2;
    out[i] = Math.round(Math.min(1, Math.max(0, mean + jitter)) * 255);
  }
  return out;
}

export function image(mean: number, format: ImageFormat = 'png', seed = 1, shape: PixelShape = GREY_28): Promise<Buffer> {
  return encodeImage(greyPixels(mean, seed, shape), shape, format);
}

/** Sums a metric's samples whose labels include `labels`, from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{([^}]*)\}/)?.[1] ?? '';
    const found = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** A multipart/form-data body with the given files, all in the given field unless each names its own. */
export function multipart(files: { field?: string; name: string; data: Buffer; type?: string }[], field = 'image'): { body: Buffer; contentType: string } {
  const boundary = `----awnet${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const f of files) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.field ?? field}"; filename="${f.name}"\r\n` +
          `Content-Type: ${f.type ?? 'image/png'}\r\n\r\n`,
      ),
      f.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
