import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FREE_HOLD, holdLabel, holdOf, sameHold } from '../src/model/router-hold.js';
import type { ArchConfig, RouterHold } from '../src/model/types.js';
import { ExportError } from './errors.js';

interface ModelEntry {
  readonly name?: unknown;
  readonly checkpoint?: unknown;
  readonly preset?: unknown;
  readonly variant?: unknown;
  readonly hold?: unknown;
}

/** The hold an entry ran under; entries of reports written before holds were recorded ran free. */
function entryHold(m: ModelEntry): RouterHold {
  const h = m.hold;
  if (!isObject(h) || typeof h.pCleanCap !== 'number') return FREE_HOLD;
  return { pCleanCap: h.pCleanCap, omegaBound: typeof h.omegaBound === 'number' ? h.omegaBound : null };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The evaluation figures of one model from a report of the `evaluate` command (which may
 * hold several models side by side): the report's shared fields (dataset, split, count,
 * eps, …) with that model's entry under `model`. The entry is chosen by `modelName`, else
 * by checkpoint path, else it is the report's only entry of the same preset and variant.
 */
export async function readEvaluation(
  file: string,
  checkpointDir: string,
  config: ArchConfig,
  modelName?: string,
): Promise<Record<string, unknown>> {
  const bad = (what: string): never => {
    throw new ExportError('EXPORT_BAD_EVALUATION', `--evaluation ${file}: ${what}`);
  };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return bad(`cannot read it (${(err as Error).message})`);
  }
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch (err) {
    return bad(`not valid JSON (${(err as Error).message}); expected the --out report of the evaluate command`);
  }
  if (!isObject(report) || !Array.isArray(report.models) || !report.models.every(isObject)) {
    return bad('not an evaluate report: expected an object with a "models" list');
  }
  const models = report.models as ModelEntry[];
  const names = models.map((m) => String(m.name)).join(', ');
  let chosen: ModelEntry | undefined;
  if (modelName !== undefined) {
    chosen = models.find((m) => m.name === modelName);
    if (!chosen) bad(`no model named "${modelName}" in it; it holds: ${names}`);
  } else {
    const target = resolve(checkpointDir);
    chosen = models.find((m) => typeof m.checkpoint === 'string' && resolve(m.checkpoint) === target && sameHold(entryHold(m), holdOf(config)));
    if (!chosen) {
      const same = models.filter((m) => m.preset === config.preset && m.variant === config.variant && sameHold(entryHold(m), holdOf(config)));
      if (same.length === 1) chosen = same[0];
    }
    if (!chosen) {
      bad(`none of its models (${names}) is checkpoint ${checkpointDir} or the only ${config.preset} ${config.variant} model; name one with --evaluation-model`);
    }
  }
  if (chosen?.preset !== undefined && (chosen.preset !== config.preset || chosen.variant !== config.variant)) {
    bad(`its model "${String(chosen.name)}" is ${String(chosen.preset)} ${String(chosen.variant)}, but the checkpoint is ${config.preset} ${config.variant}`);
  }
  if (chosen !== undefined && !sameHold(entryHold(chosen), holdOf(config))) {
    bad(`its model "${String(chosen.name)}" ran under router hold ${holdLabel(entryHold(chosen))}, but the exported model has ${holdLabel(holdOf(config))}`);
  }
  const { models: _models, ...shared } = report;
  return { ...shared, model: chosen };
}
