import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors } from '../../errors.js';
import { INPUT_NAME, OUTPUT, OUTPUT_NAMES, type OutputName } from '../../../contract/model-contract.js';
import type { ServedModel } from '../../inference/model-registry.js';
import type { GuardedRequest } from '../../query-attack/query-guard.js';
import { packageVersion } from '../../repo-root.js';
import {
  ErrorResponses,
  InferRequest,
  InferResponse,
  Live,
  ModelMetadataResponse,
  ModelParams,
  ModelReady,
  Ready,
  ServerMetadata,
  VersionedModelParams,
} from '../schemas.js';
import { parseInferInput } from '../tensor-input.js';
import '../../fastify-types.js';

const VERSION = packageVersion();
const tags = ['open inference protocol'];

/** The Open Inference Protocol (KServe v2) REST API, so Triton and KServe clients work unchanged. */
const oipRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const modelOf = (params: { name: string; version?: string }): ServedModel => {
    const model = app.models.get(params.name);
    if (params.version !== undefined && params.version !== model.version) {
      throw new Errors.UNKNOWN_MODEL(`${params.name} version ${params.version}`, app.models.all.map((m) => `${m.name} version ${m.version}`).join(', '));
    }
    return model;
  };

  app.get('/v2', { schema: { summary: 'Server metadata', tags, response: { 200: ServerMetadata } } }, async () => ({
    name: 'awnet-serve',
    version: VERSION,
    extensions: [],
  }));

  app.get('/v2/health/live', { schema: { summary: 'Liveness', tags, response: { 200: Live } } }, async () => ({ live: true }));

  app.get('/v2/health/ready', { schema: { summary: 'Readiness: 503 while starting, shutting down, or while a model has no inference worker', tags, response: { 200: Ready, 503: Type.Union([Ready, Type.Ref('AwnetError')]), '4xx': Type.Ref('AwnetError') } } }, async (_request, reply) => {
    const ready = app.accepting.value && app.models.ready;
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  const metadata = (model: ServedModel) => {
    const { channels, height, width } = model.metadata.input;
    const k = model.metadata.labels.length;
    return {
      name: model.name,
      versions: [model.version],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [-1, channels, height, width] }],
      outputs: [
        { name: OUTPUT.logits, datatype: 'FP32', shape: [-1, k] },
        { name: OUTPUT.probabilities, datatype: 'FP32', shape: [-1, k] },
        { name: OUTPUT.adversarialScore, datatype: 'FP32', shape: [-1] },
      ],
      parameters: { labels: [...model.metadata.labels], threshold: model.threshold, execution_provider: model.engine.provider },
    };
  };
  const ready = (model: ServedModel, reply: { code(n: number): unknown }) => {
    const isReady = app.accepting.value && model.serving;
    reply.code(isReady ? 200 : 503);
    return { name: model.name, ready: isReady };
  };

  const metaSchema = { summary: 'Model metadata', tags, response: { 200: ModelMetadataResponse, ...ErrorResponses } };
  app.get('/v2/models/:name', { schema: { ...metaSchema, params: ModelParams } }, async (request) => metadata(modelOf(request.params)));
  app.get('/v2/models/:name/versions/:version', { schema: { ...metaSchema, params: VersionedModelParams } }, async (request) =>
    metadata(modelOf(request.params)),
  );

  const readySchema = { summary: 'Model readiness', tags, response: { ...ErrorResponses, 200: ModelReady, 503: Type.Union([ModelReady, Type.Ref('AwnetError')]) } };
  app.get('/v2/models/:name/ready', { schema: { ...readySchema, params: ModelParams } }, async (request, reply) =>
    ready(modelOf(request.params), reply),
  );
  app.get('/v2/models/:name/versions/:version/ready', { schema: { ...readySchema, params: VersionedModelParams } }, async (request, reply) =>
    ready(modelOf(request.params), reply),
  );

  const infer = async (model: ServedModel, body: InferRequest, request: GuardedRequest): Promise<InferResponse> => {
    const requested = (body.outputs ?? []).map((o) => o.name);
    for (const name of requested) {
      if (!(OUTPUT_NAMES as readonly string[]).includes(name)) throw new Errors.UNKNOWN_TENSOR('Output', name, OUTPUT_NAMES.join(', '));
    }
    const images = parseInferInput(body.inputs, model.metadata.input);
    app.queryGuard.screen(request, model, images);
    const scored = await model.infer(images);
    app.queryGuard.report(request, model, images, scored);
    const n = scored.length;
    const k = model.metadata.labels.length;
    const tensors: Record<OutputName, { shape: number[]; data: () => number[] }> = {
      [OUTPUT.logits]: { shape: [n, k], data: () => scored.flatMap((s) => Array.from(s.logits)) },
      [OUTPUT.probabilities]: { shape: [n, k], data: () => scored.flatMap((s) => Array.from(s.probabilities)) },
      [OUTPUT.adversarialScore]: { shape: [n], data: () => scored.map((s) => s.adversarialScore) },
    };
    const names = (requested.length > 0 ? requested : OUTPUT_NAMES) as readonly OutputName[];
    return {
      model_name: model.name,
      model_version: model.version,
      ...(body.id !== undefined ? { id: body.id } : {}),
      outputs: names.map((name) => ({ name, datatype: 'FP32', shape: tensors[name].shape, data: tensors[name].data() })),
    };
  };

  const inferSchema = {
    summary: `Inference on FP32 tensors [N, C, H, W] named ${INPUT_NAME}; returns ${OUTPUT_NAMES.join(', ')}`,
    tags,
    body: InferRequest,
    response: { 200: InferResponse, ...ErrorResponses },
  };
  app.post('/v2/models/:name/infer', { schema: { ...inferSchema, params: ModelParams }, config: { queryGuard: true } }, async (request) =>
    infer(modelOf(request.params), request.body, request),
  );
  app.post('/v2/models/:name/versions/:version/infer', { schema: { ...inferSchema, params: VersionedModelParams }, config: { queryGuard: true } }, async (request) =>
    infer(modelOf(request.params), request.body, request),
  );
};

export default oipRoutes;
