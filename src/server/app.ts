import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Registry } from 'prom-client';
import type { Config } from './config.js';
import errorHandler from './http/error-handler.js';
import lifecyclePlugin from './http/lifecycle-plugin.js';
import metricsPlugin from './telemetry/metrics-plugin.js';
import type { EngineFactory } from './inference/model-registry.js';
import modelsPlugin from './inference/models-plugin.js';
import { registerOpenApi } from './http/openapi.js';
import queryGuardPlugin from './query-attack/query-guard-plugin.js';
import { packageVersion } from './repo-root.js';
import classifyRoutes from './http/routes/classify.js';
import adminPlugin from './http/admin-plugin.js';
import { readModelMetadata } from './inference/model-metadata.js';
import oipRoutes from './http/routes/oip.js';
import { ErrorSchema } from './http/schemas.js';
import './fastify-types.js';

export interface AppOptions {
  readonly config: Config;
  /** Where the metrics go; a fresh Registry when omitted (never prom-client's global one). */
  readonly registry?: Registry;
  /** Runs the models' batches; onnxruntime worker threads unless replaced (the HTTP-ceiling benchmark does). */
  readonly engineFactory?: EngineFactory;
  /** Fastify logger options; `false` silences it. */
  readonly logger?: FastifyServerOptions['logger'];
}

const VERSION = packageVersion();

/** How long loading the models may take before the start fails: the startup probe's 2 minutes. */
export const MODEL_LOAD_TIMEOUT_MS = 120_000;

/** Builds the service: models loaded, routes registered, not yet listening. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    // lifecycle-plugin answers requests that arrive while draining, in the catalogue's format.
    return503OnClosing: false,
    // Loading a model (and on a GPU creating its CUDA session) on a busy node can take longer
    // than Fastify's default 10 s per plugin; the startup probe (k8s/base) allows 2 minutes.
    pluginTimeout: MODEL_LOAD_TIMEOUT_MS,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('config', config);
  app.addSchema(ErrorSchema);
  // The thresholds in use are score-histogram boundaries: an attack that stays just under one shows.
  const thresholds = config.flagThreshold !== undefined ? [config.flagThreshold] : await Promise.all(config.models.map(async (f) => (await readModelMetadata(f)).threshold));
  await app.register(metricsPlugin, { registry: options.registry ?? new Registry(), flaggedWindowSeconds: config.flaggedWindowSeconds, thresholds });
  await app.register(errorHandler);
  await app.register(modelsPlugin, {
    files: config.models,
    settings: config,
    ...(options.engineFactory ? { engineFactory: options.engineFactory } : {}),
  });
  await app.register(lifecyclePlugin);
  await app.register(queryGuardPlugin);
  if (config.docs) await registerOpenApi(app, VERSION);
  await app.register(classifyRoutes);
  await app.register(oipRoutes);
  await app.register(adminPlugin);
  return app;
}
