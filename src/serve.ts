import { buildApp } from './server/app.js';
import { ConfigError, loadConfig, unreadLookalikes, type Config } from './server/config.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`awnet-serve: invalid configuration: ${error.message}\n`);
  process.exit(2);
}

let app: Awaited<ReturnType<typeof buildApp>>;
try {
  app = await buildApp({ config });
  await app.listen({ host: config.host, port: config.port });
  await app.admin.listen({ host: config.host, port: config.adminPort });
} catch (error) {
  process.stderr.write(`awnet-serve: could not start: ${(error as Error).message}\n`);
  process.exit(1);
}
for (const { variable, instead } of unreadLookalikes()) {
  app.log.warn(`${variable} is set but not read: the service reads ${instead} only (listening on ${config.host}:${config.port})`);
}

let stopping = false;

/**
 * Readiness turns false at once (so load balancers stop sending), requests already
 * received are answered, then the process exits 0; past the grace period it exits 1.
 */
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  app.log.info(`${signal} received: draining (grace ${config.shutdownGraceMs} ms)`);
  // Readiness goes false now, not when close() reaches its preClose hook.
  app.accepting.value = false;
  app.models.setReady(false);
  const timer = setTimeout(() => {
    app.log.error(`requests still running after ${config.shutdownGraceMs} ms; refusing the queued ones and exiting`);
    // Running batches are waited for: stopping onnxruntime mid-run would abort the process.
    void app.models.abort().finally(() => process.exit(1));
  }, config.shutdownGraceMs);
  timer.unref();
  app.close().then(
    () => {
      app.log.info('drained; bye');
      process.exit(0);
    },
    (error: Error) => {
      app.log.error({ err: error }, 'error while closing');
      process.exit(1);
    },
  );
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
