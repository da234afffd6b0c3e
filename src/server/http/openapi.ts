import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { IMAGE_FIELDS } from './uploads.js';

const CLASSIFY_PATHS = ['/v1/classify', '/v1/models/{name}/classify'];

/**
 * The classify routes take raw bytes, which a JSON schema on the route cannot express
 * without also validating them, so their request body is described here, in the document only.
 */
const uploadBody = {
  required: true,
  content: {
    'image/*': { schema: { type: 'string', format: 'binary', description: 'One image: JPEG, PNG, WebP, GIF, TIFF or AVIF.' } },
    'multipart/form-data': {
      schema: {
        type: 'object',
        properties: Object.fromEntries(
          IMAGE_FIELDS.map((field) => [field, { type: 'array', items: { type: 'string', format: 'binary' }, description: 'Image files (either field name).' }]),
        ),
      },
    },
  },
};

/** The OpenAPI document (GET /docs/json) and its browsable UI (GET /docs); register before the routes. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'awnet-serve',
        version,
        description:
          'Image classification with AW-Net. Every answer carries the adversarial router score; ' +
          'the Open Inference Protocol (KServe v2) REST API is served under /v2. Errors: { error, code, statusCode }.',
      },
      tags: [
        { name: 'classify', description: 'Images in, labels and adversarial scores out' },
        { name: 'open inference protocol', description: 'KServe v2 / Triton-compatible REST API' },
        { name: 'operations', description: 'Metrics' },
      ],
    },
    // Shared schemas keep their $id as their name in components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`) },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      for (const path of CLASSIFY_PATHS) {
        const post = openapiObject.paths?.[path]?.post as { requestBody?: unknown } | undefined;
        if (post) post.requestBody = uploadBody;
      }
      return openapiObject;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
