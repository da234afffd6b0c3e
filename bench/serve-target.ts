import { Command, Option } from 'commander';
import type { BatchEngine, EngineResult } from '../src/server/inference/batch-engine.js';
import { buildApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import type { EngineFactory } from '../src/server/inference/model-registry.js';
import { buildNaiveApp } from './serve-naive.js';

// One server under test, in its own process so the load generator does not share its
// event loop. Configured by the service's own AWNET_* variables; prints its URL.

/** Answers every batch at once with uniform probabilities: the service minus inference. */
class NoInferenceEngine implements BatchEngine {
  readonly provider = 'none';
  readonly idleCount = Number.POSITIVE_INFINITY;
  readonly healthy = true;
  constructor(private readonly classes: number) {}
  onIdle(): void {}
  async run(_pixels: Float32Array, count: number): Promise<EngineResult> {
    const k = this.classes;
    return {
      logits: new Float32Array(count * k),
      probabilities: new Float32Array(count * k).fill(1 / k),
      adversarialScore: new Float32Array(count),
      runSeconds: 0,
    };
  }
  async close(): Promise<void> {}
}

const noInference: EngineFactory = async (_file, metadata) => new NoInferenceEngine(metadata.labels.length);

const program = new Command()
  .addOption(new Option('--mode <mode>', 'which server').choices(['service', 'http-ceiling', 'naive']).makeOptionMandatory())
  .parse();
const { mode } = program.opts<{ mode: 'service' | 'http-ceiling' | 'naive' }>();

const config = loadConfig();
const app =
  mode === 'naive'
    ? await buildNaiveApp(config.models[0]!, config)
    : await buildApp({ config, ...(mode === 'http-ceiling' ? { engineFactory: noInference } : {}) });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
