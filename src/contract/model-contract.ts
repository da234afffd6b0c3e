import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * The contract between the exporter (export/) and the service (src/server/): tensor names
 * and shapes of the ONNX graph and the JSON stored in its `metadata_props` entry `awnet`
 * (repeated in the sidecar `models/<name>.json`). Both sides import it from here, so a
 * file the exporter writes is exactly what the service accepts (docs/design.md).
 */
export const INPUT_NAME = 'pixels';
/** The graph's outputs, by the role each plays. */
export const OUTPUT = { logits: 'logits', probabilities: 'probabilities', adversarialScore: 'adversarial_score' } as const;
export const OUTPUT_NAMES = [OUTPUT.logits, OUTPUT.probabilities, OUTPUT.adversarialScore] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];
/** The symbolic batch dimension: every tensor's first dimension, any size. */
export const BATCH_DIM = 'N';

export const METADATA_KEY = 'awnet';
export const METADATA_SCHEMA_VERSION = 1;

export const AwnetMetadataSchema = Type.Object(
  {
    schemaVersion: Type.Literal(METADATA_SCHEMA_VERSION),
    name: Type.String({ minLength: 1 }),
    version: Type.String({ minLength: 1 }),
    dataset: Type.String({ minLength: 1 }),
    labels: Type.Array(Type.String(), { minItems: 2 }),
    input: Type.Object({
      channels: Type.Union([Type.Literal(1), Type.Literal(3)]),
      height: Type.Integer({ minimum: 1 }),
      width: Type.Integer({ minimum: 1 }),
    }),
    /** An image is flagged adversarial when its adversarial_score is strictly above `value`. */
    threshold: Type.Object({
      value: Type.Number({ minimum: 0, maximum: 1 }),
      targetFpr: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
      /** Fraction of the calibration images whose score is above `value`. */
      observedFpr: Type.Number({ minimum: 0, maximum: 1 }),
      calibrationImages: Type.Integer({ minimum: 1 }),
      calibrationSplit: Type.String(),
    }),
    trainingAttack: Type.Object({
      norm: Type.Literal('linf'),
      eps: Type.Number({ minimum: 0 }),
      steps: Type.Integer({ minimum: 0 }),
      /** pgd, fgsm-rs or n-fgsm (see the train command); absent in models that trained with PGD before it was recorded. */
      name: Type.Optional(Type.String({ minLength: 1 })),
    }),
    variant: Type.Union([Type.Literal('static'), Type.Literal('dynamic-only'), Type.Literal('mixbn-single-bn'), Type.Literal('awnet')]),
    preset: Type.String({ minLength: 1 }),
    /**
     * Whether adversarial_score comes from a router. A model without one (the static
     * baseline) still has the output, constant 0, so the contract holds for every model.
     */
    router: Type.Boolean(),
    /** Figures from the evaluate command, as it wrote them, when given. */
    evaluation: Type.Optional(Type.Unknown()),
    /** ISO 8601 UTC, as Date.prototype.toISOString writes it. */
    created: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' }),
    producer: Type.String(),
  },
  { additionalProperties: false },
);

export type AwnetMetadata = Static<typeof AwnetMetadataSchema>;

/** Describes everything wrong with `value` as a metadata object, or returns [] if it is valid. */
export function metadataProblems(value: unknown): string[] {
  return [...Value.Errors(AwnetMetadataSchema, value)].map((e) => `${e.path || '/'}: ${e.message}`);
}

export function assertMetadata(value: unknown): asserts value is AwnetMetadata {
  const problems = metadataProblems(value);
  if (problems.length > 0) throw new Error(`invalid awnet metadata: ${problems.join('; ')}`);
}

/** Parses the `awnet` metadata JSON of a model and checks it against the schema. */
export function parseMetadata(json: string): AwnetMetadata {
  const value: unknown = JSON.parse(json);
  assertMetadata(value);
  return value;
}

export function metadataJson(meta: AwnetMetadata): string {
  assertMetadata(meta);
  return JSON.stringify(meta);
}

/** A dimension as ONNX records it: a size, or a symbolic name such as the batch dimension. */
export type Dim = number | string;

/** The shape of every graph tensor for a model of this input and number of classes. */
export function tensorShapes(input: AwnetMetadata['input'], classes: number): Readonly<Record<typeof INPUT_NAME | OutputName, Dim[]>> {
  return {
    [INPUT_NAME]: [BATCH_DIM, input.channels, input.height, input.width],
    [OUTPUT.logits]: [BATCH_DIM, classes],
    [OUTPUT.probabilities]: [BATCH_DIM, classes],
    [OUTPUT.adversarialScore]: [BATCH_DIM],
  };
}

/** What the service sees of a graph: the shapes of its inputs and outputs, by name. */
export interface GraphSignature {
  readonly inputs: ReadonlyMap<string, readonly Dim[]>;
  readonly outputs: ReadonlyMap<string, readonly Dim[]>;
}

/** How `graph` departs from the contract for `meta` (already valid), or [] when it keeps it. */
export function graphProblems(graph: GraphSignature, meta: AwnetMetadata): string[] {
  const expected = tensorShapes(meta.input, meta.labels.length);
  const pixels = graph.inputs.get(INPUT_NAME);
  if (!pixels || pixels.length !== 4) return [`graph input '${INPUT_NAME}' [N, C, H, W] missing`];
  const [, c, h, w] = pixels;
  const { channels, height, width } = meta.input;
  const problems: string[] = [];
  if (c !== channels || h !== height || w !== width) {
    problems.push(`graph input '${INPUT_NAME}' is [${pixels.join(', ')}], metadata says C=${channels} H=${height} W=${width}`);
  }
  for (const name of OUTPUT_NAMES) {
    if (!graph.outputs.has(name)) problems.push(`graph output '${name}' missing`);
  }
  // A symbolic class dimension cannot be checked before running the graph.
  const k = graph.outputs.get(OUTPUT.logits)?.[1];
  if (typeof k === 'number' && k !== expected[OUTPUT.logits][1]) {
    problems.push(`logits have ${k} classes but metadata lists ${meta.labels.length} labels`);
  }
  return problems;
}
