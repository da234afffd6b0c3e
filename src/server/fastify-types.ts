import type { Config } from './config.js';
import type { ServiceMetrics } from './telemetry/metrics.js';
import type { ModelRegistry } from './inference/model-registry.js';
import type { QueryAttackState, QueryGuard } from './query-attack/query-guard.js';

declare module 'fastify' {
  interface FastifyInstance {
    readonly config: Config;
    readonly metrics: ServiceMetrics;
    readonly models: ModelRegistry;
    /** False from the moment shutdown starts. */
    readonly accepting: { value: boolean };
    readonly queryGuard: QueryGuard;
    /** The admin server (/metrics), on AWNET_ADMIN_PORT; not listening until started. */
    readonly admin: FastifyInstance;
  }
  interface FastifyRequest {
    /** Set on the inference routes: who sent it, and once its images are screened, the verdict. */
    queryAttack: QueryAttackState | null;
  }
  interface FastifyContextConfig {
    /** The route takes images to score: query-attack detection screens it. */
    readonly queryGuard?: boolean;
  }
}
