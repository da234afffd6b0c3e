import createError, { type FastifyError } from '@fastify/error';
import { IMAGE_FORMATS } from '../image/formats.js';

/** Re-exported: the service's messages and tests list the decodable formats. */
export { IMAGE_FORMATS };

const FORMATS = IMAGE_FORMATS.join(', ');

/**
 * The service's error catalogue: every error response carries one of these codes.
 * docs/errors.md documents the same list (a test keeps the two in step).
 */
export const Errors = {
  EMPTY_BODY: createError<'AWNET_EMPTY_BODY', 400, [string]>('AWNET_EMPTY_BODY', '%s', 400),
  NOT_AN_IMAGE: createError<'AWNET_NOT_AN_IMAGE', 400, [string]>(
    'AWNET_NOT_AN_IMAGE',
    `%s is not an image in a known format; valid formats: ${FORMATS}`,
    400,
  ),
  UNSUPPORTED_IMAGE_FORMAT: createError<'AWNET_UNSUPPORTED_IMAGE_FORMAT', 415, [string, string]>(
    'AWNET_UNSUPPORTED_IMAGE_FORMAT',
    `%s is a %s image; valid formats: ${FORMATS}`,
    415,
  ),
  CORRUPT_IMAGE: createError<'AWNET_CORRUPT_IMAGE', 400, [string, string]>(
    'AWNET_CORRUPT_IMAGE',
    '%s could not be decoded, it is truncated or corrupt (%s)',
    400,
  ),
  IMAGE_TOO_LARGE: createError<'AWNET_IMAGE_TOO_LARGE', 413, [string, number, number, number]>(
    'AWNET_IMAGE_TOO_LARGE',
    '%s claims %d x %d pixels; at most %d pixels are accepted',
    413,
  ),
  PAYLOAD_TOO_LARGE: createError<'AWNET_PAYLOAD_TOO_LARGE', 413, [number]>(
    'AWNET_PAYLOAD_TOO_LARGE',
    'The upload is larger than the limit of %d bytes per body or file',
    413,
  ),
  TOO_MANY_FILES: createError<'AWNET_TOO_MANY_FILES', 413, [number]>(
    'AWNET_TOO_MANY_FILES',
    'Too many files in one request; at most %d are accepted',
    413,
  ),
  BATCH_TOO_LARGE: createError<'AWNET_BATCH_TOO_LARGE', 413, [number, number]>(
    'AWNET_BATCH_TOO_LARGE',
    '%d images in one request can never fit the queue; at most %d (AWNET_QUEUE_LIMIT) are accepted',
    413,
  ),
  UNSUPPORTED_MEDIA_TYPE: createError<'AWNET_UNSUPPORTED_MEDIA_TYPE', 415, [string, string]>(
    'AWNET_UNSUPPORTED_MEDIA_TYPE',
    "Content-Type '%s' is not accepted here; valid: %s",
    415,
  ),
  WRONG_FIELD: createError<'AWNET_WRONG_FIELD', 400, [string]>(
    'AWNET_WRONG_FIELD',
    "Multipart field '%s' is not accepted; send image files in the field 'image' or 'images'",
    400,
  ),
  MALFORMED_JSON: createError<'AWNET_MALFORMED_JSON', 400, [string]>(
    'AWNET_MALFORMED_JSON',
    'The body is not valid JSON (%s)',
    400,
  ),
  INVALID_REQUEST: createError<'AWNET_INVALID_REQUEST', 400, [string]>('AWNET_INVALID_REQUEST', 'Invalid request: %s', 400),
  UNKNOWN_MODEL: createError<'AWNET_UNKNOWN_MODEL', 404, [string, string]>(
    'AWNET_UNKNOWN_MODEL',
    "Model '%s' is not served; served models: %s",
    404,
  ),
  UNKNOWN_TENSOR: createError<'AWNET_UNKNOWN_TENSOR', 400, [string, string, string]>(
    'AWNET_UNKNOWN_TENSOR',
    "%s tensor '%s' does not exist; valid: %s",
    400,
  ),
  WRONG_DATATYPE: createError<'AWNET_WRONG_DATATYPE', 400, [string, string]>(
    'AWNET_WRONG_DATATYPE',
    "Input '%s' has datatype %s; valid: FP32",
    400,
  ),
  WRONG_SHAPE: createError<'AWNET_WRONG_SHAPE', 400, [string, string, string]>(
    'AWNET_WRONG_SHAPE',
    "Input '%s' has shape %s; valid: %s",
    400,
  ),
  WRONG_LENGTH: createError<'AWNET_WRONG_LENGTH', 400, [string, number, number, string]>(
    'AWNET_WRONG_LENGTH',
    "Input '%s' holds %d numbers; its shape needs %d finite numbers (%s)",
    400,
  ),
  INPUT_OUT_OF_RANGE: createError<'AWNET_INPUT_OUT_OF_RANGE', 400, [string, number, number, string]>(
    'AWNET_INPUT_OUT_OF_RANGE',
    "Input '%s' holds %d at position %d; valid: pixel values in the model's input range %s (0-255 pixels divided by 255)",
    400,
  ),
  NOT_FOUND: createError<'AWNET_NOT_FOUND', 404, [string, string]>('AWNET_NOT_FOUND', 'No route %s %s; see /docs', 404),
  METHOD_NOT_ALLOWED: createError<'AWNET_METHOD_NOT_ALLOWED', 405, [string, string, string]>(
    'AWNET_METHOD_NOT_ALLOWED',
    '%s is not a method of %s; it takes %s',
    405,
  ),
  CLIENT_DISCONNECTED: createError<'AWNET_CLIENT_DISCONNECTED', 400, [string]>(
    'AWNET_CLIENT_DISCONNECTED',
    'The client closed the connection before the body was complete (%s)',
    400,
  ),
  QUERY_ATTACK_THROTTLED: createError<'AWNET_QUERY_ATTACK_THROTTLED', 429, [number, number]>(
    'AWNET_QUERY_ATTACK_THROTTLED',
    'This client sent %d images in the detection window that nearly repeat its own earlier ones, as a query attack does; queries are refused for %d s',
    429,
  ),
  QUEUE_FULL: createError<'AWNET_QUEUE_FULL', 503, [string, number]>(
    'AWNET_QUEUE_FULL',
    "Model '%s' has %d images waiting, its queue limit; retry after the Retry-After delay",
    503,
  ),
  NOT_READY: createError<'AWNET_NOT_READY', 503, [string]>(
    'AWNET_NOT_READY',
    '%s is not taking requests (starting, shutting down, or without an inference worker); retry on another replica',
    503,
  ),
  TIMEOUT: createError<'AWNET_TIMEOUT', 504, [number]>('AWNET_TIMEOUT', 'No answer within the request timeout of %d ms', 504),
  INFERENCE_FAILED: createError<'AWNET_INFERENCE_FAILED', 500, [string, string]>(
    'AWNET_INFERENCE_FAILED',
    "Inference failed in model '%s' (%s)",
    500,
  ),
  INTERNAL: createError<'AWNET_INTERNAL', 500, [string]>('AWNET_INTERNAL', 'Internal error (%s)', 500),
} as const;

export type ServiceError = FastifyError & { statusCode: number };

/** Every code of the catalogue with its HTTP status. */
export function catalogue(): { code: string; statusCode: number }[] {
  return Object.values(Errors).map((ctor) => {
    const sample = new (ctor as unknown as new () => FastifyError)();
    return { code: sample.code, statusCode: sample.statusCode ?? 500 };
  });
}

const CODES = new Set(catalogue().map((e) => e.code));

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && CODES.has((error as FastifyError).code) && typeof (error as FastifyError).statusCode === 'number';
}

/** Body of every error response (the Open Inference Protocol reads `error`). */
export interface ErrorBody {
  error: string;
  code: string;
  statusCode: number;
}
