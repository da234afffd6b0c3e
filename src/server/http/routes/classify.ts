import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { performance } from 'node:perf_hooks';
import { decodeImage } from '../../image.js';
import type { ServedModel } from '../../inference/model-registry.js';
import { ClassifyQuery, ClassifyResponse, ErrorResponses, ModelParams } from '../schemas.js';
import { readUploads } from '../uploads.js';
import '../../fastify-types.js';

const DEFAULT_TOP_K = 5;

const description =
  'Classify one image sent as the body (Content-Type image/* or application/octet-stream: JPEG, PNG, WebP, GIF (first frame), TIFF, AVIF, ' +
  'told apart by their bytes) ' +
  "or several as multipart/form-data files in the field 'image' or 'images'. Each answer carries the " +
  "router's adversarial score and whether it is above the model's flagging threshold.";

/**
 * POST /v1/classify and /v1/models/:name/classify. Only image/*, application/octet-stream
 * (many HTTP clients' default for a file) and multipart bodies are parsed here; the decoder
 * tells the format from the bytes, whatever the header says.
 */
const classifyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { bodyLimitBytes, maxFiles, maxInputPixels } = app.config;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^(?:image\/[\w.+-]+|application\/octet-stream)(?:\s*;.*)?$/i, { parseAs: 'buffer', bodyLimit: bodyLimitBytes }, (_req, body, done) => done(null, body));
  await app.register(multipart, {
    limits: { fileSize: bodyLimitBytes, files: maxFiles, parts: maxFiles + 16, fields: 16, fieldSize: bodyLimitBytes },
  });

  async function classify(model: ServedModel, request: FastifyRequest, topK: number): Promise<ClassifyResponse> {
    // Images already queued may wait (up to the batch delay) for this request's.
    const release = model.announce();
    let uploads: Awaited<ReturnType<typeof readUploads>>;
    let scored: Awaited<ReturnType<ServedModel['infer']>>;
    try {
      uploads = await readUploads(request);
      const pixels = await Promise.all(
        uploads.map(async (upload) => {
          const started = performance.now();
          const decoded = await decodeImage(upload.data, model.metadata.input, { maxInputPixels, source: upload.source });
          app.metrics.preprocessDuration.observe({ model: model.name }, (performance.now() - started) / 1000);
          return decoded;
        }),
      );
      // Before scoring: a throttled client's images get no answer at all.
      app.queryGuard.screen(request, model, pixels);
      scored = await model.infer(pixels, release);
      app.queryGuard.report(request, model, pixels, scored);
      const flagged = scored.filter((x) => x.flagged).length;
      if (flagged > 0) app.metrics.flaggedByRoute.inc({ model: model.name, route: request.routeOptions.url ?? 'unmatched' }, flagged);
    } finally {
      release();
    }
    const labels = model.metadata.labels;
    const k = Math.min(topK, labels.length);
    return {
      model: { name: model.name, version: model.version, labels: [...labels] },
      results: scored.map((s, i) => {
        const probabilities = Array.from(s.probabilities);
        const order = probabilities.map((_, j) => j).sort((a, b) => probabilities[b]! - probabilities[a]!);
        return {
          ...(uploads[i]!.filename !== undefined ? { filename: uploads[i]!.filename } : {}),
          label: s.label,
          top_k: order.slice(0, k).map((j) => ({ label: labels[j]!, probability: probabilities[j]! })),
          probabilities,
          adversarial: { score: s.adversarialScore, flagged: s.flagged },
        };
      }),
    };
  }

  const response = { 200: ClassifyResponse, ...ErrorResponses };
  const consumes = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/tiff', 'image/avif', 'application/octet-stream', 'multipart/form-data'];

  app.post(
    '/v1/classify',
    { schema: { summary: 'Classify images with the default model', description, tags: ['classify'], consumes, querystring: ClassifyQuery, response }, config: { queryGuard: true } },
    (request) => classify(app.models.default, request, request.query.top_k ?? DEFAULT_TOP_K),
  );

  app.post(
    '/v1/models/:name/classify',
    {
      schema: { summary: 'Classify images with a named model', description, tags: ['classify'], consumes, params: ModelParams, querystring: ClassifyQuery, response },
      config: { queryGuard: true },
      // An unknown model is refused before its upload is read.
      onRequest: async (request) => void app.models.get((request.params as { name: string }).name),
    },
    (request) => classify(app.models.get(request.params.name), request, request.query.top_k ?? DEFAULT_TOP_K),
  );
};

export default classifyRoutes;
