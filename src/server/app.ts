import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { createGunzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { AuditstreamConfig } from '../config/schema.js';
import type { AuditEvent } from '../core/event.js';
import { MAX_ENCODED_EVENT_ID_LENGTH } from '../core/ids.js';
import { AuditstreamError, RetriableError, errorMessage } from '../core/errors.js';
import { parseRecordSettled } from '../formats/parse.js';
import { createSink, type Pipeline } from '../pipeline/pipeline.js';
import type { AuditStore } from '../store/audit-store.js';
import { QueryError } from '../store/query-error.js';
import { bearerChecker } from './auth.js';
import { HttpError } from './http-error.js';
import { ACCEPTED_TYPES, NDJSON_TYPES, splitBody } from './ingest-body.js';

export interface AppOptions {
  config: AuditstreamConfig;
  pipeline: Pipeline;
  logger: Logger;
}

/**
 * The HTTP API, built apart from `listen` so tests can inject requests or
 * listen on port 0.
 */
export function buildApp({ config, pipeline, logger }: AppOptions): FastifyInstance {
  const limits = config.server.limits;
  const app = Fastify({
    // Per-request lines at info would drown the pipeline's own logs at ingest rates; errors still show.
    loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: limits.maxBodyBytes,
    // Every accepted event id must be fetchable as GET /v1/events/{encodeURIComponent(id)}; the default (100) answered 414.
    maxParamLength: MAX_ENCODED_EVENT_ID_LENGTH,
  });
  let ready = true;
  // preClose runs before in-flight requests finish, so health checks and new requests see "stopping" at once.
  app.addHook('preClose', async () => {
    ready = false;
  });

  const checkKey = bearerChecker(config.server.apiKeys);
  if (checkKey) {
    app.addHook('onRequest', async (req) => {
      if (req.url.startsWith('/v1/')) checkKey(req.headers.authorization);
    });
  }

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(ACCEPTED_TYPES, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // The body limit counts what the parser reads, i.e. the decompressed bytes: a gzip bomb hits 413 too.
  app.addHook('preParsing', async (req, _reply, payload) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'identity') return payload;
    if (encoding === 'gzip' || encoding === 'x-gzip') {
      // Fastify checks Content-Length against receivedEncodedLength: the compressed bytes that came in.
      const gunzip = Object.assign(createGunzip(), { receivedEncodedLength: 0 });
      payload.on('data', (chunk: Buffer) => (gunzip.receivedEncodedLength += chunk.length));
      payload.pipe(gunzip);
      payload.on('error', (err) => gunzip.destroy(err));
      return gunzip;
    }
    throw new HttpError(415, 'UNSUPPORTED_ENCODING', `Content-Encoding "${encoding}" is not supported (use gzip or none)`);
  });

  app.setErrorHandler((err: FastifyError | HttpError | Error, req, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode === 401) void reply.header('WWW-Authenticate', 'Bearer');
      return reply.code(err.statusCode).send({ error: err.message, code: err.code, ...err.extra });
    }
    if (err instanceof QueryError) return reply.code(400).send({ error: err.message, code: err.code, parameter: err.parameter });
    // The audit store is down or busy: say so, and that retrying later helps.
    if (err instanceof RetriableError) return reply.code(503).header('Retry-After', '5').send({ error: err.message, code: err.code });
    const code = (err as FastifyError).code;
    // A refused body may be left unread on the socket: close it so a kept-alive client cannot reuse it mid-body.
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') void reply.header('Connection', 'close');
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: `request body is larger than server.limits.maxBodyBytes (${limits.maxBodyBytes} bytes)`, code: 'BODY_TOO_LARGE' });
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ error: `Content-Type "${req.headers['content-type'] ?? ''}" is not supported; send one of ${ACCEPTED_TYPES.join(', ')}`, code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || /incorrect header check|unexpected end of file/.test(err.message)) {
      return reply.code(400).send({ error: `Content-Encoding: gzip, but the body is not valid gzip: ${err.message}`, code: 'BODY_MALFORMED' });
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: err.message, code: code ?? 'BAD_REQUEST' });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error; see the server log', code: 'INTERNAL' });
  });

  app.get('/healthz', async (_req, reply) => {
    const emitters = pipeline.emitters.map((e) => ({ name: e.name, state: e.status().state }));
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'stopping', emitters });
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await pipeline.metrics.registry.metrics();
    return reply.type(pipeline.metrics.registry.contentType).send(text);
  });

  app.post('/v1/events', async (req, reply) => {
    if (!ready) throw new HttpError(503, 'STOPPING', 'the server is shutting down; retry against another instance or later');
    const body = req.body as Buffer | undefined;
    if (!body || body.length === 0) throw new HttpError(400, 'BODY_EMPTY', 'the request body is empty; send a JSON object, an array, or NDJSON');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const records = splitBody(body, NDJSON_TYPES.includes(contentType));
    const events: AuditEvent[] = [];
    const rejected: { index: number; error: string }[] = [];
    for (const r of records) {
      if (r.error) {
        rejected.push({ index: r.index, error: r.error });
        continue;
      }
      const size = Buffer.byteLength(r.text);
      if (size > limits.maxEventBytes) {
        rejected.push({ index: r.index, error: `event is ${size} bytes, over server.limits.maxEventBytes (${limits.maxEventBytes})` });
        continue;
      }
      // Settled: one bad element of a CloudTrail Records array or a nested array costs only itself.
      const parsed = parseRecordSettled({ text: r.text, value: r.value }, 'auto', { eventTime: config.audit.eventTime });
      for (const e of parsed.events) events.push(e);
      for (const f of parsed.failures) rejected.push({ index: r.index, error: f.error.message });
    }
    const m = pipeline.metrics;
    if (rejected.length > 0) m.ingestRejected.inc({ source: 'http', reason: 'invalid' }, rejected.length);
    if (events.length === 0) {
      throw new HttpError(400, 'NO_VALID_EVENTS', rejected.length > 0 ? 'no event in the body could be accepted' : 'the body holds no events', { accepted: 0, rejected });
    }
    const result = await pipeline.router.publish(events);
    if (!result.ok) {
      m.ingestRejected.inc({ source: 'http', reason: result.retryAfterSec !== undefined ? 'queue_full' : 'policy' }, events.length);
      const names = result.failed.map((f) => f.emitter).join(', ');
      if (result.retryAfterSec !== undefined) {
        void reply.header('Retry-After', String(Math.max(1, Math.ceil(result.retryAfterSec))));
        return reply.code(429).send({ error: `queue full for emitter(s) ${names}: the request is not acknowledged, retry it later (other emitters may already hold these events; their ids make the retry recognisable)`, code: 'QUEUE_FULL', failed: result.failed, rejected });
      }
      return reply.code(503).send({ error: `delivery policy not met: emitter(s) ${names} did not confirm`, code: 'DELIVERY_FAILED', failed: result.failed, rejected });
    }
    m.ingestAccepted.inc({ source: 'http' }, events.length);
    return reply.code(202).send({ accepted: events.length, rejected, ids: events.map((e) => e.id) });
  });

  const store = (): AuditStore => {
    for (const e of pipeline.emitters) {
      const s = (e.sink as { store?: AuditStore }).store;
      if (e.type === 'audit-store' && s) return s;
    }
    throw new HttpError(404, 'NO_AUDIT_STORE', 'no enabled audit-store emitter is configured, so there is nothing to search');
  };

  app.get('/v1/events', async (req) => store().search(req.query as Record<string, string>));

  app.get('/v1/events/:id', async (req) => {
    const { id } = req.params as { id: string };
    const event = await store().get(id);
    if (!event) throw new HttpError(404, 'NOT_FOUND', `no event with id ${id} in the audit store`);
    return event;
  });

  app.get('/v1/emitters', async () => ({
    emitters: [
      ...pipeline.emitters.map((e) => e.status()),
      ...pipeline.disabled.map((d) => ({ name: d.name, type: d.common.type, enabled: false, state: 'disabled' })),
    ],
  }));

  app.post('/v1/emitters/:name/test', async (req) => {
    const { name } = req.params as { name: string };
    return testEmitter(pipeline, name, logger);
  });

  app.get('/v1/sources', async () => ({
    sources: [{ name: 'http', type: 'http', listen: config.server.listen }, ...pipeline.sources.map((s) => ({ name: s.name, ...s.status() }))],
  }));

  return app;
}

/** "Test & Add" (seed 000) for a configured emitter, enabled or not. */
export async function testEmitter(pipeline: Pipeline, name: string, logger: Logger) {
  const running = pipeline.emitter(name);
  const disabled = pipeline.disabled.find((d) => d.name === name);
  if (!running && !disabled) throw new HttpError(404, 'NOT_FOUND', `no emitter named "${name}"`);
  const sink = running
    ? running.sink
    : createSink(disabled!, { emitterName: name, dataDir: pipeline.dataDir, logger, metrics: pipeline.metrics.registry });
  const signal = AbortSignal.timeout(30_000);
  try {
    const steps = await sink.check(signal);
    return { emitter: name, ok: steps.every((s) => s.ok), steps };
  } catch (err) {
    const code = err instanceof AuditstreamError ? err.code : 'ERROR';
    return { emitter: name, ok: false, steps: [{ step: 'check', ok: false, detail: `${code}: ${errorMessage(err)}` }] };
  } finally {
    if (!running) await sink.close().catch(() => undefined);
  }
}
