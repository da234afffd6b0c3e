import fp from 'fastify-plugin';
import { Errors } from '../errors.js';
import '../fastify-types.js';

/** Still answered while draining: probes (server and model readiness), metadata and scrapes. */
const DRAINING_OK = /^\/(v2\/?$|v2\/health\/|v2\/models\/[^/]+(\/versions\/[^/]+)?(\/ready)?\/?$|metrics)/;

/**
 * Readiness and draining. Models turn ready once the server is up; from the moment
 * shutdown starts (SIGTERM in main.ts, or close()) readiness is false, new work
 * arriving on connections that are still open gets 503 AWNET_NOT_READY, and every
 * keep-alive connection is closed after its response so that close() does not wait
 * for clients' idle connections to time out.
 */
export default fp(
  async (app) => {
    const accepting = { value: true };
    app.decorate('accepting', accepting);
    app.addHook('onReady', async () => app.models.setReady(true));
    app.addHook('preClose', async () => {
      accepting.value = false;
      app.models.setReady(false);
    });
    app.addHook('onRequest', async (request) => {
      if (!accepting.value && !DRAINING_OK.test(request.url)) throw new Errors.NOT_READY('The service');
    });
    app.addHook('onSend', async (_request, reply) => {
      if (!accepting.value) reply.header('connection', 'close');
    });
    app.addHook('onResponse', async () => {
      if (!accepting.value) app.server.closeIdleConnections();
    });
  },
  { name: 'awnet-lifecycle', fastify: '5.x', dependencies: ['awnet-models'] },
);
