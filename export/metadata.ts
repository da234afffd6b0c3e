import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * The JSON stored in the ONNX `metadata_props` entry `awnet` and repeated in the
 * sidecar `models/<name>.json`. The service reads it to label answers, shape inputs
 * and flag adversarial traffic.
 */
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
    variant: Type.Union([
      Type.Literal('static'),
      Type.Literal('dynamic-only'),
      Type.Literal('mixbn-single-bn'),
      Type.Literal('awnet'),
    ]),
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
