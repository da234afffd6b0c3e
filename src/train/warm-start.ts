import { loadCheckpoint } from '../model/checkpoint.js';
import type { Model } from '../model/types.js';
import { TrainError } from './errors.js';
import { taskMismatch } from './run-setup.js';

/** How a warm start went: the variables taken from the checkpoint and those left as initialised. */
export interface WarmStartReport {
  readonly copied: number;
  readonly fresh: readonly string[];
}

/**
 * The checkpoint variable a model variable takes its value from: the same name, or, for the two
 * statistics sets of a MixBN layer (`…/bn/clean/gamma`, `…/bn/adv/gamma`), the single BatchNorm
 * of a network without them (`…/bn/gamma`), so that both sets start from the one a static
 * baseline learnt.
 */
export function sourceNames(stable: string): string[] {
  const single = stable.replace(/\/(clean|adv)\/([^/]+)$/, '/$2');
  return single === stable ? [stable] : [stable, single];
}

/**
 * Copies into `target` every variable `source` holds under the same (or MixBN-collapsed) name.
 * Variables the source lacks (the router of an AW-Net started from a static baseline) keep their
 * initialisation; the signal heads start every ω near 1, so the AW-Net starts as the source's
 * network. A shape mismatch, or nothing in common, is an error naming the variables.
 */
export function copyMatchingVariables(target: Model, source: Model, sourceLabel: string): WarmStartReport {
  const from = source.namedVariables();
  const fresh: string[] = [];
  let copied = 0;
  for (const [stable, variable] of target.namedVariables()) {
    const name = sourceNames(stable).find((n) => from.has(n));
    if (name === undefined) {
      fresh.push(stable);
      continue;
    }
    const value = from.get(name)!;
    if (value.shape.join('x') !== variable.shape.join('x')) {
      throw new TrainError(
        'TRAIN_INIT_MISMATCH',
        `--init-from ${sourceLabel}: ${name} has shape [${value.shape.join(', ')}] but the model's ${stable} is [${variable.shape.join(', ')}]; ` +
          'start from a checkpoint of the same preset and widths',
      );
    }
    variable.assign(value);
    copied++;
  }
  if (copied === 0) {
    throw new TrainError(
      'TRAIN_INIT_MISMATCH',
      `--init-from ${sourceLabel}: no variable of the checkpoint matches the model (${[...from.keys()].slice(0, 3).join(', ')}, …); ` +
        'start from a checkpoint of the same preset',
    );
  }
  return { copied, fresh };
}

/** Loads the checkpoint in `dir` and copies its matching variables into `target` (see copyMatchingVariables). */
export async function warmStart(target: Model, dir: string): Promise<WarmStartReport> {
  const { model: source } = await loadCheckpoint(dir);
  try {
    const mismatch = taskMismatch(source.config, target.config, 'the model');
    if (mismatch !== null) throw new TrainError('TRAIN_INIT_MISMATCH', `--init-from ${dir} ${mismatch}`);
    return copyMatchingVariables(target, source, dir);
  } finally {
    source.dispose();
  }
}

/** One log line: how many variables came from `dir`, and which parts of the model kept their initialisation. */
export function describeWarmStart(report: WarmStartReport, dir: string): string {
  const parts = [...new Set(report.fresh.map((name) => name.split('/').slice(0, 2).join('/')))];
  const rest = report.fresh.length === 0 ? 'every variable came from it' : `${report.fresh.length} keep their initialisation (${parts.join(', ')})`;
  return `initialised ${report.copied} variables from ${dir}; ${rest}`;
}
