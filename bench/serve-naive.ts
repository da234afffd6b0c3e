import Fastify, { type FastifyInstance } from 'fastify';
import { decodeImage } from '../src/server/image.js';
import { readModelMetadata } from '../src/server/inference/model-metadata.js';
import { openSession } from '../src/server/inference/onnx-session.js';

export interface NaiveOptions {
  readonly intraOpThreads: number;
  readonly bodyLimitBytes: number;
  readonly maxInputPixels: number;
}

/**
 * The design a user writes first, kept as the benchmark's baseline: the same upload
 * path and image decoding, then one session.run per request on the event loop
 * (onnxruntime-node's run is synchronous on the calling thread), no batching.
 */
export async function buildNaiveApp(modelFile: string, options: NaiveOptions): Promise<FastifyInstance> {
  const metadata = await readModelMetadata(modelFile);
  const session = await openSession(modelFile, { providers: ['cpu'], intraOpThreads: options.intraOpThreads });
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimitBytes });
  app.addContentTypeParser(/^image\/[\w.+-]+(?:\s*;.*)?$/i, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onClose', async () => session.close());
  app.post('/v1/classify', async (request) => {
    const pixels = await decodeImage(request.body as Buffer, metadata.input, { maxInputPixels: options.maxInputPixels });
    const out = await session.run(pixels, 1, metadata.input);
    const probabilities = Array.from(out.probabilities);
    const best = probabilities.indexOf(Math.max(...probabilities));
    const score = out.adversarialScore[0]!;
    return {
      label: metadata.labels[best],
      probabilities,
      adversarial: { score, flagged: score > metadata.threshold, threshold: metadata.threshold },
    };
  });
  return app;
}
