import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  BodyEmptyError,
  BodyMalformedError,
  DeliveryFailedError,
  FormatInvalidError,
  IngestBusyError,
  IngestRefusedError,
  NoValidEventsError,
  QueueFullError,
  SourceStoppingError,
  TooManyEventsError,
  UnsupportedCharsetError,
} from '../sources/http/errors.js';
import type { HttpSource } from '../sources/http/source.js';

/** POST /v1/events: hands the body to the http source and answers with what it acknowledged or why it refused. */
export function ingestHandler(source: HttpSource) {
  return async function ingest(req: FastifyRequest, reply: FastifyReply) {
    try {
      const { format } = req.query as { format?: string | string[] };
      const accepted = await source.ingest({
        body: req.body as Buffer | undefined,
        contentType: req.headers['content-type'],
        protocol: req.protocol,
        // Sent twice (`?format=a&format=b`), it names no one format: the refusal quotes both.
        format: Array.isArray(format) ? format.join(',') : format,
        keyTextFormat: req.apiKey?.textFormat,
      });
      return await reply.code(202).send(accepted);
    } catch (err) {
      if (!(err instanceof IngestRefusedError)) throw err;
      const { status, extra, retryAfterSec } = refusalAnswer(err);
      if (retryAfterSec !== undefined) void reply.header('Retry-After', String(Math.max(1, Math.ceil(retryAfterSec))));
      return reply.code(status).send({ error: err.message, code: err.code, ...extra });
    }
  };
}

/** The status and the fields beyond `{error, code}` that each refusal answers with. */
function refusalAnswer(err: IngestRefusedError): { status: number; extra?: Record<string, unknown>; retryAfterSec?: number } {
  if (err instanceof QueueFullError) return { status: 429, extra: { failed: err.failed, ...err.rejections }, retryAfterSec: err.retryAfterSec };
  if (err instanceof IngestBusyError) return { status: 429, retryAfterSec: err.retryAfterSec };
  if (err instanceof DeliveryFailedError) return { status: 503, extra: { failed: err.failed, ...err.rejections } };
  if (err instanceof NoValidEventsError) return { status: 400, extra: { accepted: 0, ...err.rejections } };
  if (err instanceof TooManyEventsError) return { status: 413 };
  if (err instanceof BodyEmptyError || err instanceof BodyMalformedError || err instanceof FormatInvalidError) return { status: 400 };
  if (err instanceof UnsupportedCharsetError) return { status: 415 };
  if (err instanceof SourceStoppingError) return { status: 503 };
  // A refusal added to the source but not to this table still answers by its class: 503 says retrying may help, 400 that it cannot.
  return { status: err.retriable ? 503 : 400 };
}
