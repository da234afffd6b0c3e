import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import { ServiceMetrics } from './metrics.js';
import '../fastify-types.js';

export interface MetricsPluginOptions {
  readonly registry: Registry;
  readonly flaggedWindowSeconds: number;
  /** Score-histogram boundaries: the served models' thresholds. */
  readonly thresholds?: readonly number[];
}

const bodyReceived = Symbol('awnet.bodyReceived');
type Timed = { [bodyReceived]?: bigint };

/** Owns the service's metrics and counts every HTTP response by route template. */
export default fp<MetricsPluginOptions>(
  async (app, options) => {
    const metrics = new ServiceMetrics(options.registry, options.flaggedWindowSeconds, options.thresholds ?? []);
    app.decorate('metrics', metrics);
    // After parsing and validation: what follows is the service's time, not the upload's.
    app.addHook('preHandler', async (request) => {
      (request as unknown as Timed)[bodyReceived] = process.hrtime.bigint();
    });
    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
        status_code: String(reply.statusCode),
      };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
      const received = (request as unknown as Timed)[bodyReceived];
      if (received !== undefined) metrics.httpProcessing.observe(labels, Number(process.hrtime.bigint() - received) / 1e9);
    });
  },
  { name: 'awnet-metrics', fastify: '5.x' },
);
