import fp from 'fastify-plugin';
import { EvidenceRing } from './evidence-ring.js';
import { QueryGuard } from './query-guard.js';
import '../fastify-types.js';

export const SUSPECTED_HEADER = 'x-query-attack-suspected';

/**
 * Query-attack detection on the routes that score images (route config `queryGuard`): keys
 * each request to a client, refuses a throttled client before its body is read, marks
 * suspected clients' answers, and opens the evidence ring when a directory is configured.
 * The routes call `app.queryGuard.screen` before scoring and `report` after.
 */
export default fp(
  async (app) => {
    const { queryAttack, evidence } = app.config;
    const ring = evidence.dir === undefined ? undefined : await EvidenceRing.open(evidence.dir, evidence.maxBytes, (line) => app.log.warn(line));
    const guard = new QueryGuard(queryAttack, app.metrics, ring);
    app.decorate('queryGuard', guard);
    app.decorateRequest('queryAttack', null);
    const memory = guard.memory;
    const crossKey = guard.crossKey;
    app.metrics.watchQueryAttacks({ suspected: () => memory?.suspectedCount() ?? 0, tracked: () => memory?.size ?? 0, clusters: () => crossKey?.suspectedCount() ?? 0 });
    if (queryAttack.action !== 'off') {
      for (const model of app.models.names) app.metrics.queryAttackRequests.inc({ model, action: queryAttack.action }, 0);
    }
    if (crossKey) for (const model of app.models.names) app.metrics.queryAttackClusterImages.inc({ model }, 0);
    if (ring) app.metrics.watchEvidence(() => ring.dropped);
    if (ring) app.log.info(`evidence of flagged and suspected queries goes to ${ring.dir} (at most ${ring.maxBytes} bytes; ${ring.bytes} there now)`);

    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.config?.queryGuard !== true) return;
      request.queryAttack = { key: guard.keys.of(request.headers, request.socket.remoteAddress) };
      // A name the service does not serve is left to the route's 404.
      const name = (request.params as { name?: string } | undefined)?.name ?? app.models.default.name;
      if (app.models.names.includes(name)) guard.refuseEarly(request, name);
    });
    app.addHook('onSend', async (request, reply) => {
      if ((guard.action === 'header' || guard.action === 'throttle') && request.queryAttack) {
        const suspected = request.queryAttack.verdict?.suspected ?? (guard.memory?.suspicion(request.queryAttack.key.hash) ?? 0) > 0;
        if (suspected) reply.header(SUSPECTED_HEADER, '1');
      }
    });
    app.addHook('onClose', async () => {
      await ring?.flush();
    });
  },
  { name: 'awnet-query-guard', fastify: '5.x', dependencies: ['awnet-metrics', 'awnet-models'] },
);
