import { readFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import {
  graphProblems,
  METADATA_KEY,
  metadataProblems,
  type AwnetMetadata,
  type Dim,
} from '../../contract/model-contract.js';
import type { PixelShape } from '../image.js';

const { onnx } = onnxProto;

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
  readonly raw: Readonly<AwnetMetadata>;
}

export class ModelFileError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'ModelFileError';
  }
}

function signature(values: readonly onnxProto.onnx.IValueInfoProto[] | null | undefined): Map<string, Dim[]> {
  const shapes = new Map<string, Dim[]>();
  for (const info of values ?? []) {
    const shape = info.type?.tensorType?.shape;
    if (!info.name || !shape) continue;
    shapes.set(info.name, (shape.dim ?? []).map((d) => (d.dimValue != null ? Number(d.dimValue) : (d.dimParam ?? '?'))));
  }
  return shapes;
}

/**
 * Reads and checks a model file against the contract (src/contract/model-contract.ts) without
 * running it: the metadata must pass the exporter's own schema, the graph must match it.
 */
export async function readModelMetadata(file: string): Promise<ModelMetadata> {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(await readFile(file));
  } catch (error) {
    throw new ModelFileError(file, `not a readable ONNX model (${(error as Error).message})`);
  }
  const entry = model.metadataProps.find((p) => p.key === METADATA_KEY);
  if (!entry?.value) throw new ModelFileError(file, `no '${METADATA_KEY}' entry in metadata_props`);
  let meta: unknown;
  try {
    meta = JSON.parse(entry.value);
  } catch (error) {
    throw new ModelFileError(file, `metadata '${METADATA_KEY}' is not JSON (${(error as Error).message})`);
  }
  const problems = metadataProblems(meta);
  if (problems.length > 0) throw new ModelFileError(file, `metadata '${METADATA_KEY}' breaks the contract: ${problems.join('; ')}`);
  const valid = meta as AwnetMetadata;
  const graph = { inputs: signature(model.graph?.input), outputs: signature(model.graph?.output) };
  const mismatches = graphProblems(graph, valid);
  if (mismatches.length > 0) throw new ModelFileError(file, mismatches.join('; '));

  return {
    name: path.basename(file, '.onnx'),
    version: valid.version,
    labels: Object.freeze([...valid.labels]),
    input: Object.freeze({ ...valid.input }),
    threshold: valid.threshold.value,
    raw: Object.freeze(valid),
  };
}
