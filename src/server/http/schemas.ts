import { Type, type Static } from '@fastify/type-provider-typebox';

export const ErrorSchema = Type.Object(
  {
    error: Type.String({ description: 'What was wrong, naming the bad value and what would be valid.' }),
    code: Type.String({ description: 'Stable error code, see docs/errors.md.' }),
    statusCode: Type.Integer(),
  },
  { $id: 'AwnetError', title: 'Error' },
);

export const ErrorResponses = {
  '4xx': Type.Ref('AwnetError'),
  '5xx': Type.Ref('AwnetError'),
} as const;

export const ModelParams = Type.Object({ name: Type.String({ description: 'Model name (its file name without .onnx).' }) });
export const VersionedModelParams = Type.Object({ name: Type.String(), version: Type.String() });

export const ClassifyQuery = Type.Object({
  top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Labels in top_k (capped at the number of classes); default 5.' })),
});

const Probability = Type.Number({ minimum: 0, maximum: 1 });

export const ClassifyResult = Type.Object({
  filename: Type.Optional(Type.String()),
  label: Type.String(),
  top_k: Type.Array(Type.Object({ label: Type.String(), probability: Probability })),
  probabilities: Type.Array(Probability, { description: 'One per label, in the order of model.labels; they sum to 1.' }),
  adversarial: Type.Object({
    score: Type.Number({ description: "The router's probability that the image is adversarial." }),
    flagged: Type.Boolean({ description: "score above the model's flagging threshold (the threshold itself is on the admin port only)" }),
  }),
});

export const ClassifyResponse = Type.Object({
  model: Type.Object({ name: Type.String(), version: Type.String(), labels: Type.Array(Type.String()) }),
  results: Type.Array(ClassifyResult),
});
export type ClassifyResponse = Static<typeof ClassifyResponse>;

// Open Inference Protocol (KServe v2) REST shapes.

export const ServerMetadata = Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) });
export const Live = Type.Object({ live: Type.Boolean() });
export const Ready = Type.Object({ ready: Type.Boolean() });
export const ModelReady = Type.Object({ name: Type.String(), ready: Type.Boolean() });

const TensorMetadata = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
export const ModelMetadataResponse = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(TensorMetadata),
  outputs: Type.Array(TensorMetadata),
  parameters: Type.Object({
    labels: Type.Array(Type.String()),
    execution_provider: Type.String(),
    screened: Type.Boolean({ description: 'The model has a router: its images are screened for attacks and can be flagged.' }),
    router_hold: Type.Union(
      [
        Type.Object({
          p_clean_cap: Type.Number({ minimum: 0, maximum: 1 }),
          omega_bound: Type.Union([Type.Number(), Type.Null()]),
        }),
        Type.Null(),
      ],
      { description: "The router's hold baked into the graph (MixBN mixes with min(P(clean), p_clean_cap), ω clipped to 1 ± omega_bound); null when the model has none." },
    ),
  }),
});

export const InferRequest = Type.Object({
  id: Type.Optional(Type.String()),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  inputs: Type.Array(
    Type.Object({
      name: Type.String(),
      shape: Type.Array(Type.Integer({ minimum: 0 })),
      datatype: Type.String(),
      parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      data: Type.Array(Type.Unknown(), { description: 'Row-major values, flat or nested.' }),
    }),
    { minItems: 1 },
  ),
  outputs: Type.Optional(
    Type.Array(Type.Object({ name: Type.String(), parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })),
  ),
});
export type InferRequest = Static<typeof InferRequest>;

export const InferResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.String(),
  id: Type.Optional(Type.String()),
  outputs: Type.Array(
    Type.Object({
      name: Type.String(),
      datatype: Type.String(),
      shape: Type.Array(Type.Integer()),
      data: Type.Union([Type.Array(Type.Number()), Type.Array(Type.Boolean())]),
    }),
  ),
});
export type InferResponse = Static<typeof InferResponse>;
