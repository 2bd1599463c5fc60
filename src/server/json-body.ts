import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonDepth, tooDeepReason } from '../formats/parse-helpers/depth.js';
import { HttpError } from './http-error.js';

const JSON_TYPE = 'application/json';
/** RFC 7396: what a PATCH of a configuration is, by its own name. */
const MERGE_PATCH_TYPE = 'application/merge-patch+json';

export interface JsonBodyLimits {
  /** The most bytes a body may take, decompressed. */
  maxBytes: number;
  /** server.limits.maxDepth: nesting is bounded before anything walks the document. */
  maxDepth: number;
  /** What the body is, for the 413's message: "a tenant or key body". */
  what: string;
}

/**
 * Makes every route of `scope` take one JSON document of a bounded size and
 * depth as its body (undefined when the body is empty), instead of the raw
 * bytes the app hands ingest under server.limits.maxBodyBytes: a
 * configuration is a few hundred bytes, and a body limit sized for batches
 * of events would let a client make the server buffer megabytes per
 * request. Any other Content-Type is a 415 naming the accepted ones.
 */
export function acceptJsonBodies(scope: FastifyInstance, limits: JsonBodyLimits): void {
  const { maxBytes, maxDepth, what } = limits;
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser([JSON_TYPE, MERGE_PATCH_TYPE], { parseAs: 'buffer', bodyLimit: maxBytes }, (req, body, done) => {
    const bytes = body as Buffer;
    if (!acceptedTypes(req).includes(mediaTypeOf(req))) {
      done(unsupported(req));
      return;
    }
    if (bytes.length === 0) {
      done(null, undefined);
      return;
    }
    const text = bytes.toString('utf8');
    // Bounded before anything walks it: merge patch, redaction and sealing recurse through the document.
    const depth = jsonDepth(text);
    if (depth > maxDepth) {
      done(new HttpError(400, 'BODY_MALFORMED', `the body is ${tooDeepReason(depth, maxDepth)}`));
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new HttpError(400, 'BODY_MALFORMED', `the body is not valid JSON: ${(err as Error).message}`));
    }
  });
  // Any other type (or none) is refused unread, unless there is nothing to read: a POST without a body has no type to get right.
  scope.addContentTypeParser('*', (req, _payload, done) => {
    if (req.headers['content-length'] === '0') done(null, undefined);
    else done(unsupported(req));
  });
  // Fastify's own too-large error would name server.limits.maxBodyBytes, the ingest bound; anything else goes on to the app's handler.
  scope.setErrorHandler((err, _req, reply) => {
    if ((err as { code?: unknown }).code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err;
    void reply.header('Connection', 'close');
    throw new HttpError(413, 'BODY_TOO_LARGE', `${what} may take at most ${maxBytes} bytes`, { maxBytes });
  });
}

function acceptedTypes(req: FastifyRequest): string[] {
  return req.method === 'PATCH' ? [JSON_TYPE, MERGE_PATCH_TYPE] : [JSON_TYPE];
}

function mediaTypeOf(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function unsupported(req: FastifyRequest): HttpError {
  const accepted = acceptedTypes(req);
  return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type "${req.headers['content-type'] ?? ''}" is not supported here; send ${accepted.join(' or ')}`, { accepted });
}
