import fp from 'fastify-plugin';
import { ModelRegistry, type EngineFactory, type ModelSettings } from './model-registry.js';
import '../fastify-types.js';

export interface ModelsPluginOptions {
  readonly files: readonly string[];
  readonly settings: ModelSettings;
  readonly engineFactory?: EngineFactory;
}

/** Loads every model before the server listens; on close, queued work finishes before the workers stop. */
export default fp<ModelsPluginOptions>(
  async (app, options) => {
    const registry = await ModelRegistry.load(
      options.files,
      options.settings,
      app.metrics,
      { info: (line) => app.log.info(line), warn: (line) => app.log.warn(line) },
      options.engineFactory,
    );
    app.decorate('models', registry);
    app.addHook('onClose', async () => registry.close());
  },
  { name: 'awnet-models', fastify: '5.x', dependencies: ['awnet-metrics'] },
);
