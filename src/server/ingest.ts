import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditstreamConfig } from '../config/schema.js';
import { eventsJsonBytes } from '../core/component-metrics.js';
import type { AuditEvent } from '../core/event.js';
import type { EventTimeBounds } from '../core/time.js';
import { parseRecordSettled } from '../formats/parse.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { HttpError } from './http-error.js';
import { NDJSON_TYPES, Pacer, splitBody, tooManyEvents } from './ingest-body.js';

/**
 * Rejections listed in an answer; the rest are only counted (`rejectedTotal`),
 * so that a body of bad records cannot make the answer many times its size.
 */
export const MAX_REJECTED_LISTED = 100;

interface Rejection {
  index: number;
  error: string;
}

class Rejections {
  readonly listed: Rejection[] = [];
  total = 0;

  add(index: number, error: string): void {
    this.total += 1;
    if (this.listed.length < MAX_REJECTED_LISTED) this.listed.push({ index, error });
  }

  /** The part every answer carries. */
  answer(): { rejected: Rejection[]; rejectedTotal: number } {
    return { rejected: this.listed, rejectedTotal: this.total };
  }
}

export interface IngestOptions {
  pipeline: Pipeline;
  limits: AuditstreamConfig['server']['limits'];
  /** `audit.eventTime`: the window every event's time must fall in. */
  eventTime: EventTimeBounds;
  /** False once the server is stopping. */
  ready: () => boolean;
}

/**
 * POST /v1/events: reads the body into events, refusing bad records by index,
 * and publishes the rest. HTTP ingest is the source `http`: it reports the
 * component metrics every source reports.
 */
export function ingestHandler({ pipeline, limits, eventTime, ready }: IngestOptions) {
  const source = pipeline.metrics.component('source', 'http', 'http');
  return async function ingest(req: FastifyRequest, reply: FastifyReply) {
    try {
      return await handle(req, reply);
    } catch (err) {
      // A refused request is an error of this source; the code names which (body_too_deep, too_many_events, …).
      if (err instanceof HttpError) source.error(err.code.toLowerCase(), err.statusCode === 503 ? 'receiving' : 'processing');
      throw err;
    }
  };

  async function handle(req: FastifyRequest, reply: FastifyReply) {
    if (!ready()) throw new HttpError(503, 'STOPPING', 'the server is shutting down; retry against another instance or later');
    const body = req.body as Buffer | undefined;
    if (body) source.receivedBytes(body.length, req.protocol);
    if (!body || body.length === 0) throw new HttpError(400, 'BODY_EMPTY', 'the request body is empty; send a JSON object, an array, or NDJSON');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const pacer = new Pacer();
    const records = await splitBody(body, NDJSON_TYPES.includes(contentType), limits, pacer);
    const events: AuditEvent[] = [];
    const rejections = new Rejections();
    for (const r of records) {
      if (pacer.due()) await pacer.yield();
      if (r.error) {
        rejections.add(r.index, r.error);
        continue;
      }
      const size = Buffer.byteLength(r.text);
      if (size > limits.maxEventBytes) {
        rejections.add(r.index, `event is ${size} bytes, over server.limits.maxEventBytes (${limits.maxEventBytes})`);
        continue;
      }
      // Settled: one bad element of a CloudTrail Records array or a nested array costs only itself.
      const parsed = parseRecordSettled({ text: r.text, value: r.value }, 'auto', { eventTime });
      for (const e of parsed.events) events.push(e);
      for (const f of parsed.failures) rejections.add(r.index, f.error.message);
      // One record may hold many events (a JSON array, a CloudTrail log file): the cap is on events, too.
      if (events.length > limits.maxEventsPerRequest) throw tooManyEvents(limits.maxEventsPerRequest);
    }
    if (rejections.total > 0) source.error('invalid_event', 'processing', rejections.total);
    const eventBytes = eventsJsonBytes(events);
    source.received(events.length, eventBytes);
    if (events.length === 0) {
      throw new HttpError(400, 'NO_VALID_EVENTS', rejections.total > 0 ? 'no event in the body could be accepted' : 'the body holds no events', {
        accepted: 0,
        ...rejections.answer(),
      });
    }
    const result = await pipeline.router.publish(events);
    if (!result.ok) {
      source.error(result.retryAfterSec !== undefined ? 'queue_full' : 'delivery_failed', 'sending');
      const names = result.failed.map((f) => f.emitter).join(', ');
      if (result.retryAfterSec !== undefined) {
        void reply.header('Retry-After', String(Math.max(1, Math.ceil(result.retryAfterSec))));
        return reply.code(429).send({
          error: `queue full for emitter(s) ${names}: the request is not acknowledged, retry it later (other emitters may already hold these events; their ids make the retry recognisable)`,
          code: 'QUEUE_FULL',
          failed: result.failed,
          ...rejections.answer(),
        });
      }
      return reply.code(503).send({ error: `delivery policy not met: emitter(s) ${names} did not confirm`, code: 'DELIVERY_FAILED', failed: result.failed, ...rejections.answer() });
    }
    source.sent(events.length, eventBytes);
    return reply.code(202).send({ accepted: events.length, ...rejections.answer(), ids: events.map((e) => e.id) });
  }
}
