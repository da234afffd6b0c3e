import type { ExecutionProvider } from './config.js';
import { probeCuda, systemProbeEnv, type ProbeResult } from './cuda-probe.js';

export interface ProviderChoice {
  /** The providers handed to onnxruntime, in order. */
  readonly providers: readonly ExecutionProvider[];
  /** One line for the log: which provider runs and why. */
  readonly line: string;
}

/**
 * Drops cuda from the configured list when the probe says it cannot load, so onnxruntime is
 * never asked for it on a CPU-only machine. A list of cuda alone is kept: asking is then the
 * only way to fail with onnxruntime's own words.
 */
export function chooseProviders(configured: readonly ExecutionProvider[], probe: ProbeResult): ProviderChoice {
  if (probe.usable) return { providers: configured, line: `execution provider cuda requested first: ${probe.reason}` };
  const rest = configured.filter((p) => p !== 'cuda');
  if (rest.length === 0) return { providers: configured, line: `execution provider cuda is the only one configured, so it is tried although ${probe.reason}` };
  return { providers: rest, line: `execution provider ${rest[0]} runs the models, not cuda: ${probe.reason}` };
}

let probed: ProbeResult | undefined;
const told = new WeakSet<object>();

/**
 * The providers to hand to onnxruntime. The machine is probed once per process; each log
 * (one per service) hears the decision once.
 */
export function runnableProviders(configured: readonly ExecutionProvider[], log: { info(line: string): void }): readonly ExecutionProvider[] {
  if (!configured.includes('cuda')) return configured;
  probed ??= probeCuda(systemProbeEnv());
  const choice = chooseProviders(configured, probed);
  if (!told.has(log)) {
    told.add(log);
    log.info(choice.line);
  }
  return choice.providers;
}
