import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { variantFeatures } from '../src/model/architecture.js';
import type { ArchConfig, Model } from '../src/model/types.js';
import { buildModelGraph } from './awnet-graph.js';
import type { Threshold } from './calibrate.js';
import { METADATA_KEY, METADATA_SCHEMA_VERSION, metadataJson, type AwnetMetadata } from '../src/contract/model-contract.js';
import { DEFAULT_OPSET, encodeModel, type ModelProto } from './onnx-graph.js';
import { Weights } from './weights.js';
import { repoRoot } from '../src/server/repo-root.js';

/** The project's name and version from its package.json. */
export function producer(): { name: string; version: string } {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
}

export interface MetadataInput {
  readonly config: ArchConfig;
  readonly name: string;
  readonly version: string;
  readonly dataset: string;
  readonly labels: readonly string[];
  readonly threshold: Threshold;
  readonly calibrationSplit: string;
  readonly trainingAttack: { readonly eps: number; readonly steps: number; readonly name?: string };
  readonly evaluation?: unknown;
  readonly created?: Date;
}

export function buildMetadata(input: MetadataInput): AwnetMetadata {
  const { config } = input;
  const p = producer();
  const meta: AwnetMetadata = {
    schemaVersion: METADATA_SCHEMA_VERSION,
    name: input.name,
    version: input.version,
    dataset: input.dataset,
    labels: [...input.labels],
    input: { channels: config.input.channels, height: config.input.height, width: config.input.width },
    threshold: {
      value: input.threshold.value,
      targetFpr: input.threshold.targetFpr,
      observedFpr: input.threshold.observedFpr,
      calibrationImages: input.threshold.calibrationImages,
      calibrationSplit: input.calibrationSplit,
    },
    trainingAttack: {
      norm: 'linf',
      eps: input.trainingAttack.eps,
      steps: input.trainingAttack.steps,
      ...(input.trainingAttack.name !== undefined ? { name: input.trainingAttack.name } : {}),
    },
    variant: config.variant,
    preset: config.preset,
    router: variantFeatures(config.variant).router,
    ...(config.hold !== undefined ? { routerHold: { pCleanCap: config.hold.pCleanCap, omegaBound: config.hold.omegaBound } } : {}),
    ...(input.evaluation !== undefined ? { evaluation: input.evaluation } : {}),
    created: (input.created ?? new Date()).toISOString(),
    producer: `${p.name} ${p.version}`.trim(),
  };
  if (meta.labels.length !== config.numClasses) {
    throw new Error(`${meta.labels.length} labels for a model with ${config.numClasses} classes`);
  }
  metadataJson(meta);
  return meta;
}

export interface OnnxExport {
  readonly model: ModelProto;
  readonly bytes: Uint8Array;
  /** Operator types the graph uses. */
  readonly opTypes: readonly string[];
}

/** The ONNX model of `model` in inference mode, with `metadata` under `metadata_props["awnet"]`. */
export function modelToOnnx(model: Model, metadata: AwnetMetadata, opset = DEFAULT_OPSET): OnnxExport {
  const weights = Weights.fromVariables(model.namedVariables());
  const graph = buildModelGraph(model.config, weights, metadata.name);
  const p = producer();
  const proto = graph.toModel({
    opset,
    producerName: p.name,
    producerVersion: p.version,
    docString: `${metadata.name} ${metadata.version}: ${model.config.preset} ${model.config.variant} on ${metadata.dataset}`,
    metadata: { [METADATA_KEY]: metadataJson(metadata) },
  });
  return { model: proto, bytes: encodeModel(proto), opTypes: graph.opTypes() };
}
