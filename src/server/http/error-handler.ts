import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Errors, isServiceError, type ErrorBody, type ServiceError } from '../errors.js';
import '../fastify-types.js';

export const ACCEPTED_UPLOAD_TYPES = 'image/* (one image as the body) or multipart/form-data';

/** Retry-After seconds carried by AWNET_QUEUE_FULL. */
export interface RetryAfter {
  readonly retryAfterSeconds?: number;
}

/**
 * Fastify already starts a validation message with its context ("querystring/top_k must be
 * >= 1"); the context is added only where it does not, so no word is said twice.
 */
export function validationMessage(error: Pick<FastifyError, 'message' | 'validationContext'>): string {
  const context = error.validationContext ?? 'request';
  return error.message.startsWith(context) ? error.message : `${context} ${error.message}`;
}

/** Maps Fastify's, the multipart plugin's and Node's errors onto the catalogue. */
export function toServiceError(error: FastifyError, request: FastifyRequest, bodyLimit: number, maxFiles: number): ServiceError {
  if (isServiceError(error)) return error;
  if (error.validation) return new Errors.INVALID_REQUEST(validationMessage(error));
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return new Errors.PAYLOAD_TOO_LARGE(bodyLimit);
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new Errors.TOO_MANY_FILES(maxFiles);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE': {
      const accepted = request.url.startsWith('/v2/') ? 'application/json' : ACCEPTED_UPLOAD_TYPES;
      return new Errors.UNSUPPORTED_MEDIA_TYPE(request.headers['content-type'] ?? '(none)', accepted);
    }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new Errors.MALFORMED_JSON(error.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new Errors.EMPTY_BODY('a JSON body is required');
    case 'FST_MP_PREMATURE_CLOSE':
    case 'ECONNRESET':
    case 'ECONNABORTED':
      return new Errors.CLIENT_DISCONNECTED(error.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new Errors.INVALID_REQUEST(error.message);
  }
  // readableAborted: the body stream ended before its end, i.e. the client went away.
  if (error.message === 'aborted' || request.raw.readableAborted) return new Errors.CLIENT_DISCONNECTED(error.message);
  // busboy reports a malformed multipart body as a plain Error.
  if (/multipart|boundary/i.test(error.message)) return new Errors.INVALID_REQUEST(error.message);
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new Errors.INVALID_REQUEST(error.message);
  }
  return new Errors.INTERNAL(error.message);
}

function send(reply: FastifyReply, error: ServiceError): FastifyReply {
  reply.server.metrics.errors.inc({ code: error.code });
  const retry = (error as RetryAfter).retryAfterSeconds;
  if (retry !== undefined) reply.header('retry-after', String(retry));
  const body: ErrorBody = { error: error.message, code: error.code, statusCode: error.statusCode };
  return reply.code(error.statusCode).send(body);
}

/** Every error leaves as { error, code, statusCode } and is counted in awnet_errors_total{code}. */
export default fp(
  async (app) => {
    const { bodyLimitBytes, maxFiles } = app.config;
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const mapped = toServiceError(error, request, bodyLimitBytes, maxFiles);
      if (mapped.code === 'AWNET_INTERNAL' || mapped.code === 'AWNET_INFERENCE_FAILED') {
        request.log.error({ err: error }, mapped.message);
      } else {
        request.log.info({ code: mapped.code }, mapped.message);
      }
      return send(reply, mapped);
    });
    app.setNotFoundHandler((request, reply) => send(reply, new Errors.NOT_FOUND(request.method, request.url)));
  },
  { name: 'awnet-errors', fastify: '5.x', dependencies: ['awnet-metrics'] },
);
