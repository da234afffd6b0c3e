import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import { ServiceMetrics } from './metrics.js';
import '../fastify-types.js';

export interface MetricsPluginOptions {
  readonly registry: Registry;
  readonly flaggedWindowSeconds: number;
}

/** Owns the service's metrics and counts every HTTP response by route template. */
export default fp<MetricsPluginOptions>(
  async (app, options) => {
    const metrics = new ServiceMetrics(options.registry, options.flaggedWindowSeconds);
    app.decorate('metrics', metrics);
    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
        status_code: String(reply.statusCode),
      };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    });
  },
  { name: 'awnet-metrics', fastify: '5.x' },
);
