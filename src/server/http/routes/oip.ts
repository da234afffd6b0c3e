import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors } from '../../errors.js';
import { INPUT_NAME, OUTPUT, OUTPUT_NAMES } from '../../../contract/model-contract.js';
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
/** Not a model output: the service's verdict (score above the threshold), as the v1 answer's `flagged`. */
const FLAGGED = 'flagged';
const ANSWER_NAMES = [...OUTPUT_NAMES, FLAGGED] as const;
type AnswerName = (typeof ANSWER_NAMES)[number];

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

  app.get(
    '/v2/health/live',
    { schema: { summary: 'Liveness: 503 once a model has had no inference worker for AWNET_LIVENESS_GRACE_SECONDS', tags, response: { 200: Live, 503: Live } } },
    async (_request, reply) => {
      // A pod whose workers cannot be replaced would stay NotReady, holding its GPU, for
      // ever: past the grace the kubelet restarts it instead.
      const now = Date.now();
      const grace = app.config.livenessGraceSeconds * 1000;
      const live = app.models.all.every((m) => m.deadForMs(now) < grace);
      return reply.code(live ? 200 : 503).send({ live });
    },
  );

  app.get('/v2/health/ready', { schema: { summary: 'Readiness: 503 while starting, shutting down, or while a model has no inference worker', tags, response: { 200: Ready, 503: Type.Union([Ready, Type.Ref('AwnetError')]), '4xx': Type.Ref('AwnetError') } } }, async (_request, reply) => {
    const ready = app.accepting.value && app.models.ready;
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  const metadata = (model: ServedModel) => {
    const { channels, height, width } = model.metadata.input;
    const k = model.metadata.labels.length;
    const hold = model.metadata.raw.routerHold;
    return {
      name: model.name,
      versions: [model.version],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [-1, channels, height, width] }],
      outputs: [
        { name: OUTPUT.logits, datatype: 'FP32', shape: [-1, k] },
        { name: OUTPUT.probabilities, datatype: 'FP32', shape: [-1, k] },
        { name: OUTPUT.adversarialScore, datatype: 'FP32', shape: [-1] },
        { name: FLAGGED, datatype: 'BOOL', shape: [-1] },
      ],
      // No threshold: a client that knows it can tune an attack to stay just under it. The hold is
      // published in the model card anyway, and operators check with it which graph a pod serves.
      parameters: {
        labels: [...model.metadata.labels],
        execution_provider: model.engine.provider,
        screened: model.screened,
        router_hold: hold ? { p_clean_cap: hold.pCleanCap, omega_bound: hold.omegaBound } : null,
      },
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

  const infer = async (model: ServedModel, body: InferRequest, request: GuardedRequest, route: string): Promise<InferResponse> => {
    const requested = (body.outputs ?? []).map((o) => o.name);
    for (const name of requested) {
      if (!(ANSWER_NAMES as readonly string[]).includes(name)) throw new Errors.UNKNOWN_TENSOR('Output', name, ANSWER_NAMES.join(', '));
    }
    const images = parseInferInput(body.inputs, model.metadata.input);
    app.queryGuard.screen(request, model, images);
    const scored = await model.infer(images);
    app.queryGuard.report(request, model, images, scored);
    const flagged = scored.filter((x) => x.flagged).length;
    if (flagged > 0) app.metrics.flaggedByRoute.inc({ model: model.name, route }, flagged);
    const n = scored.length;
    const k = model.metadata.labels.length;
    const tensors: Record<AnswerName, { datatype: string; shape: number[]; data: () => number[] | boolean[] }> = {
      [OUTPUT.logits]: { datatype: 'FP32', shape: [n, k], data: () => scored.flatMap((s) => Array.from(s.logits)) },
      [OUTPUT.probabilities]: { datatype: 'FP32', shape: [n, k], data: () => scored.flatMap((s) => Array.from(s.probabilities)) },
      [OUTPUT.adversarialScore]: { datatype: 'FP32', shape: [n], data: () => scored.map((s) => s.adversarialScore) },
      [FLAGGED]: { datatype: 'BOOL', shape: [n], data: () => scored.map((s) => s.flagged) },
    };
    const names = (requested.length > 0 ? requested : ANSWER_NAMES) as readonly AnswerName[];
    return {
      model_name: model.name,
      model_version: model.version,
      ...(body.id !== undefined ? { id: body.id } : {}),
      outputs: names.map((name) => ({ name, datatype: tensors[name].datatype, shape: tensors[name].shape, data: tensors[name].data() })),
    };
  };

  const inferSchema = {
    summary: `Inference on FP32 tensors [N, C, H, W] named ${INPUT_NAME}, values in [0, 1]; returns ${ANSWER_NAMES.join(', ')}`,
    tags,
    body: InferRequest,
    response: { 200: InferResponse, ...ErrorResponses },
  };
  app.post('/v2/models/:name/infer', { schema: { ...inferSchema, params: ModelParams }, config: { queryGuard: true } }, async (request) =>
    infer(modelOf(request.params), request.body, request, request.routeOptions.url ?? 'unmatched'),
  );
  app.post('/v2/models/:name/versions/:version/infer', { schema: { ...inferSchema, params: VersionedModelParams }, config: { queryGuard: true } }, async (request) =>
    infer(modelOf(request.params), request.body, request, request.routeOptions.url ?? 'unmatched'),
  );
};

export default oipRoutes;
