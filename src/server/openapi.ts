import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

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
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
