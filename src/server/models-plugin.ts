import fp from 'fastify-plugin';
import { ModelRegistry, type EngineFactory, type ModelSettings } from './model-registry.js';
import './fastify-types.js';

export interface ModelsPluginOptions {
  readonly files: readonly string[];
  readonly settings: ModelSettings;
  readonly engineFactory?: EngineFactory;
}

/**
 * Loads every model before the server listens, marks them ready once it does,
 * and on close lets queued work finish before stopping the inference workers.
 */
export default fp<ModelsPluginOptions>(
  async (app, options) => {
    const registry = await ModelRegistry.load(
      options.files,
      options.settings,
      app.metrics,
      (line) => app.log.info(line),
      options.engineFactory,
    );
    app.decorate('models', registry);
    app.decorate('accepting', { value: true });
    app.addHook('onReady', async () => registry.setReady(true));
    app.addHook('preClose', async () => {
      app.accepting.value = false;
      registry.setReady(false);
    });
    app.addHook('onClose', async () => registry.close());
  },
  { name: 'awnet-models', fastify: '5.x', dependencies: ['awnet-metrics'] },
);
