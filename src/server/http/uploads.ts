import type { FastifyRequest } from 'fastify';
import '@fastify/multipart';
import { ACCEPTED_UPLOAD_TYPES } from './error-handler.js';
import { Errors } from '../errors.js';

export const IMAGE_FIELDS = ['image', 'images'];

export interface Upload {
  readonly data: Buffer;
  /** Names the image in answers and error messages. */
  readonly source: string;
  readonly filename?: string;
}

/**
 * The images of a classify request: the raw body (image/*), or every file of a
 * multipart body in the field `image` or `images`. Size and count limits are
 * enforced while reading, by the body parsers.
 */
export async function readUploads(request: FastifyRequest): Promise<Upload[]> {
  if (request.isMultipart()) {
    const uploads: Upload[] = [];
    for await (const part of request.parts()) {
      if (!IMAGE_FIELDS.includes(part.fieldname)) throw new Errors.WRONG_FIELD(part.fieldname);
      if (part.type === 'file') {
        const data = await part.toBuffer();
        const name = part.filename || `file ${uploads.length + 1}`;
        uploads.push({ data, source: `'${name}'`, filename: part.filename || undefined });
      } else {
        uploads.push({ data: Buffer.from(String(part.value)), source: `field '${part.fieldname}'` });
      }
    }
    if (uploads.length === 0) throw new Errors.EMPTY_BODY("the multipart body has no file in the field 'image' or 'images'");
    return uploads;
  }
  const body = request.body;
  if (body === undefined || body === null || (Buffer.isBuffer(body) && body.length === 0)) {
    throw new Errors.EMPTY_BODY(`send ${ACCEPTED_UPLOAD_TYPES}`);
  }
  if (!Buffer.isBuffer(body)) {
    throw new Errors.UNSUPPORTED_MEDIA_TYPE(request.headers['content-type'] ?? '(none)', ACCEPTED_UPLOAD_TYPES);
  }
  return [{ data: body, source: 'the body' }];
}
