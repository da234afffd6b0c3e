import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { Child, freePort, waitFor } from './processes.js';
import { PrometheusApi } from './prometheus-api.js';
import { run } from './repo.js';
import type { RuleFile } from './rules.js';

export interface PrometheusOptions {
  /** The rules it loads (already shortened where the caller compresses time). */
  readonly rules: RuleFile;
  /** Scrape and evaluation interval, a Prometheus duration ("1s", "500ms"). */
  readonly interval: string;
  /** host:port of the service's admin port, scraped as job="awnet-serve". */
  readonly target: string;
  /** Samples from before the start, in the OpenMetrics text format, written into its storage with promtool. */
  readonly history?: string;
}

/**
 * One recorded series held at `value` for `seconds` until `end` (unix seconds), a sample
 * every `step` seconds, as OpenMetrics text: a quiet past to start Prometheus with.
 */
export function constantHistory(series: string, labels: Readonly<Record<string, string>>, value: number, end: number, seconds: number, step: number): string {
  const name = `${series}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const lines = [`# TYPE ${series} gauge`];
  const count = Math.floor(seconds / step);
  for (let i = count; i >= 1; i--) lines.push(`${name} ${value} ${(end - i * step).toFixed(3)}`);
  return `${lines.join('\n')}\n# EOF\n`;
}

/**
 * A real Prometheus server (the `prometheus` binary on PATH) on a loopback port, with a
 * storage directory of its own that is removed when it stops: every start is a quiet
 * history.
 */
export class PrometheusServer {
  private constructor(
    readonly child: Child,
    readonly api: PrometheusApi,
    private readonly dir: string,
  ) {}

  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const dir = await mkdtemp(path.join(tmpdir(), 'awnet-prometheus-'));
    await writeFile(path.join(dir, 'rules.yml'), stringify(options.rules));
    await writeFile(
      path.join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: options.interval, scrape_timeout: options.interval, evaluation_interval: options.interval },
        rule_files: ['rules.yml'],
        scrape_configs: [{ job_name: 'awnet-serve', static_configs: [{ targets: [options.target] }] }],
      }),
    );
    if (options.history !== undefined) {
      await writeFile(path.join(dir, 'history.om'), options.history);
      const made = await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', path.join(dir, 'history.om'), path.join(dir, 'data')], { timeoutMs: 60_000 });
      if (made.code !== 0) throw new Error(`promtool could not write the history: ${made.stderr}`);
    }
    const port = await freePort();
    const child = new Child('prometheus', 'prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { PATH: process.env.PATH });
    const server = new PrometheusServer(child, new PrometheusApi(`http://127.0.0.1:${port}`), dir);
    try {
      await waitFor('Prometheus to be ready', 30_000, async () => {
        if (!child.running) throw new Error(`prometheus exited\n${child.tail()}`);
        return (await server.api.ready()) || undefined;
      });
      await waitFor('the first successful scrape', 30_000, async () => ((await server.api.targetsHealth()).includes('up') ? true : undefined), 250);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  async stop(): Promise<void> {
    await this.child.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
