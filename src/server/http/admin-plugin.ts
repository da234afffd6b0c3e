import Fastify from 'fastify';
import fp from 'fastify-plugin';
import metricsRoute from './routes/metrics.js';
import '../fastify-types.js';

/**
 * The admin server (AWNET_ADMIN_PORT): /metrics, apart from the inference port, so that no
 * client can read what the detector has noticed (suspected clients, flagged counts,
 * thresholds) and a NetworkPolicy can admit Prometheus alone. Built here, listened on by
 * whoever starts the service; closed with the main app.
 */
export default fp(
  async (app) => {
    const admin = Fastify({ loggerInstance: app.log.child({ server: 'admin' }) });
    admin.decorate('metrics', app.metrics);
    await admin.register(metricsRoute);
    app.decorate('admin', admin);
    app.addHook('onClose', async () => {
      await admin.close();
    });
  },
  { name: 'awnet-admin', fastify: '5.x', dependencies: ['awnet-metrics'] },
);
