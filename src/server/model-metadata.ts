import { readFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { PixelShape } from './image.js';

const { onnx } = onnxProto;

export const INPUT_NAME = 'pixels';
export const OUTPUT_NAMES = ['logits', 'probabilities', 'adversarial_score'] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

/** What the service needs from the model's `awnet` metadata (the rest is passed through). */
export interface ModelMetadata {
  /** Addressed by this name in URLs: the file name without `.onnx`. */
  readonly name: string;
  readonly version: string;
  readonly labels: readonly string[];
  readonly input: PixelShape;
  /** Calibrated flagging threshold on adversarial_score. */
  readonly threshold: number;
  /** The whole `awnet` JSON as stored in the file. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export class ModelFileError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'ModelFileError';
  }
}

type Dim = number | string;

function dims(info: onnxProto.onnx.IValueInfoProto | undefined): Dim[] | undefined {
  const shape = info?.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => (d.dimValue != null ? Number(d.dimValue) : (d.dimParam ?? '?')));
}

function positiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** `threshold.value`: the exporter stores the calibration (target and observed rate) beside it. */
function thresholdOf(meta: Record<string, unknown>): number | undefined {
  const t = meta['threshold'];
  const value = typeof t === 'object' && t !== null ? (t as Record<string, unknown>)['value'] : undefined;
  return typeof value === 'number' && value >= 0 && value <= 1 ? value : undefined;
}

/** Reads and checks a model file against the contract (docs/design.md) without running it. */
export async function readModelMetadata(file: string): Promise<ModelMetadata> {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(await readFile(file));
  } catch (error) {
    throw new ModelFileError(file, `not a readable ONNX model (${(error as Error).message})`);
  }
  const entry = model.metadataProps.find((p) => p.key === 'awnet');
  if (!entry?.value) throw new ModelFileError(file, "no 'awnet' entry in metadata_props");
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(entry.value) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFileError(file, `metadata 'awnet' is not JSON (${(error as Error).message})`);
  }
  if (typeof meta !== 'object' || meta === null) throw new ModelFileError(file, "metadata 'awnet' is not an object");

  const labels = meta['labels'];
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === 'string')) {
    throw new ModelFileError(file, "metadata 'awnet.labels' must be a list of at least two strings");
  }
  const input = meta['input'] as Record<string, unknown> | undefined;
  const channels = input?.['channels'];
  const height = input?.['height'];
  const width = input?.['width'];
  if ((channels !== 1 && channels !== 3) || !positiveInt(height) || !positiveInt(width)) {
    throw new ModelFileError(file, "metadata 'awnet.input' must be {channels: 1|3, height, width}");
  }
  const threshold = thresholdOf(meta);
  if (threshold === undefined) throw new ModelFileError(file, "metadata 'awnet.threshold.value' must be a number in [0, 1]");

  const graph = model.graph;
  const inputInfo = graph?.input?.find((i) => i.name === INPUT_NAME);
  const inputDims = dims(inputInfo ?? undefined);
  if (!inputDims || inputDims.length !== 4) throw new ModelFileError(file, `graph input '${INPUT_NAME}' [N, C, H, W] missing`);
  const [, c, h, w] = inputDims;
  if (c !== channels || h !== height || w !== width) {
    throw new ModelFileError(file, `graph input '${INPUT_NAME}' is [${inputDims.join(', ')}], metadata says C=${channels} H=${height} W=${width}`);
  }
  for (const name of OUTPUT_NAMES) {
    if (!graph?.output?.some((o) => o.name === name)) throw new ModelFileError(file, `graph output '${name}' missing`);
  }
  const logitDims = dims(graph?.output?.find((o) => o.name === 'logits') ?? undefined);
  const k = logitDims?.[1];
  if (typeof k === 'number' && k !== labels.length) {
    throw new ModelFileError(file, `logits have ${k} classes but metadata lists ${labels.length} labels`);
  }

  const version = meta['version'];
  return {
    name: path.basename(file, '.onnx'),
    version: typeof version === 'string' || typeof version === 'number' ? String(version) : '1',
    labels: Object.freeze([...(labels as string[])]),
    input: Object.freeze({ channels, height, width }),
    threshold,
    raw: Object.freeze(meta),
  };
}
