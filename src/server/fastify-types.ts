import type { Config } from './config.js';
import type { ServiceMetrics } from './metrics.js';
import type { ModelRegistry } from './model-registry.js';

declare module 'fastify' {
  interface FastifyInstance {
    readonly config: Config;
    readonly metrics: ServiceMetrics;
    readonly models: ModelRegistry;
    /** False from the moment shutdown starts. */
    readonly accepting: { value: boolean };
  }
}
