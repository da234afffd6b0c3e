import { Child, freePort, waitFor } from './processes.js';
import { repoPath } from './repo.js';

/** The built service's entry point (npm run build writes it). */
export const SERVICE_ENTRY = repoPath('dist', 'src', 'main.js');

/** The service (`node dist/src/main.js`) on loopback ports of its own. */
export class ServiceProcess {
  private constructor(
    readonly child: Child,
    /** http://127.0.0.1:<port>: the inference API. */
    readonly base: string,
    /** 127.0.0.1:<port>: the admin port with /metrics. */
    readonly adminTarget: string,
  ) {}

  /**
   * Starts it with `env` (AWNET_* settings; host and ports are set here) and waits until
   * it is ready.
   */
  static async start(env: Readonly<Record<string, string>>): Promise<ServiceProcess> {
    const port = await freePort();
    const adminPort = await freePort();
    const child = new Child('awnet-serve', process.execPath, [SERVICE_ENTRY], {
      PATH: process.env.PATH,
      ...env,
      AWNET_HOST: '127.0.0.1',
      AWNET_PORT: String(port),
      AWNET_ADMIN_PORT: String(adminPort),
    });
    const service = new ServiceProcess(child, `http://127.0.0.1:${port}`, `127.0.0.1:${adminPort}`);
    try {
      await waitFor('the service to be ready', 60_000, async () => {
        if (!child.running) throw new Error(`the service exited\n${child.tail()}`);
        return (await fetch(`${service.base}/v2/health/ready`)).ok || undefined;
      });
    } catch (err) {
      await child.stop();
      throw err;
    }
    return service;
  }

  get adminBase(): string {
    return `http://${this.adminTarget}`;
  }

  stop(): Promise<void> {
    return this.child.stop(10_000);
  }
}
