import type { FastifyInstance, FastifySchema } from 'fastify';
import { OUTCOMES } from '../core/event.js';
import { MAX_EVENT_ID_CHARS } from '../core/ids.js';
import { TEXT_FORMATS } from '../formats/text-formats.js';
import { ACCEPTED_TYPES, TEXT_TYPE } from '../sources/http/content-types.js';

/**
 * The HTTP contract: one schema per request part and per answer of every
 * route, from which GET /openapi.json is generated. Answers are serialised
 * with JSON.stringify, not compiled from these schemas, so an open shape (an
 * event's `details`, a source's status) can never lose a property; a test
 * checks the live answers against them instead.
 */

type Json = Record<string, unknown>;

const ref = (id: string): Json => ({ $ref: `${id}#` });
const str = (description?: string): Json => ({ type: 'string', ...(description ? { description } : {}) });
const int = (description?: string): Json => ({ type: 'integer', minimum: 0, ...(description ? { description } : {}) });

/** Shared schemas, registered once; routes refer to them by `$id`. */
const SHARED: Json[] = [
  {
    $id: 'ApiError',
    title: 'ApiError',
    description: 'Every error answer: what is wrong, and a stable code. Some answers add fields (`rejected`, `parameter`, `failed`).',
    type: 'object',
    required: ['error', 'code'],
    properties: { error: str('what is wrong, in words'), code: str('stable, for programs: BAD_REQUEST, UNAUTHORIZED, ROUTE_NOT_FOUND, …') },
    additionalProperties: true,
  },
  {
    $id: 'Rejection',
    title: 'Rejection',
    type: 'object',
    required: ['index', 'error'],
    properties: { index: int('position of the record in the body: array index, or index among non-blank NDJSON lines'), error: str() },
    additionalProperties: false,
  },
  {
    $id: 'IngestError',
    title: 'IngestError',
    description: 'An ingest request that was not acknowledged, with the records refused by index and, for 429/503, the emitters that did not take the events.',
    type: 'object',
    required: ['error', 'code'],
    properties: {
      error: str(),
      code: str('BODY_MALFORMED, BODY_EMPTY, NO_VALID_EVENTS, FORMAT_INVALID, TOO_MANY_EVENTS, QUEUE_FULL, INGEST_BUSY, DELIVERY_FAILED, STOPPING, …'),
      accepted: int(),
      rejected: { type: 'array', items: ref('Rejection'), description: 'the first 100 rejected records' },
      rejectedTotal: int('how many records were rejected in all'),
      failed: {
        type: 'array',
        items: { type: 'object', required: ['emitter', 'reason'], properties: { emitter: str(), reason: str() }, additionalProperties: false },
      },
    },
    additionalProperties: true,
  },
  {
    $id: 'QueryError',
    title: 'QueryError',
    type: 'object',
    required: ['error', 'code', 'parameter'],
    properties: { error: str(), code: str('QUERY_INVALID'), parameter: str('the search parameter that is wrong') },
    additionalProperties: true,
  },
  {
    $id: 'Event',
    title: 'Event',
    description: 'The canonical audit event (docs/formats.md).',
    type: 'object',
    required: ['id', 'time', 'type', 'source', 'outcome', 'details', 'raw'],
    properties: {
      id: { type: 'string', maxLength: MAX_EVENT_ID_CHARS, description: 'characters (code points); docs/formats.md#ids' },
      time: str('ISO 8601 with milliseconds and an offset'),
      type: str('event type: login, ldap.bind, temporal.DeleteUser, cloudtrail.ConsoleLogin, vpc.flow, …'),
      source: str('the format that produced it: foxpass, blitz, temporal, cloudtrail, vpc-flow, generic, …'),
      service: str(),
      outcome: { type: 'string', enum: [...OUTCOMES] },
      actor: str(),
      clientIp: str(),
      sessionId: str(),
      tenant: str(),
      message: str(),
      details: { type: 'object', additionalProperties: true, description: 'every field of the record with no canonical slot' },
      origin: { type: 'object', additionalProperties: { type: 'string' } },
      raw: str('the original record, untouched'),
    },
    additionalProperties: true,
  },
  {
    $id: 'EmitterStatus',
    title: 'EmitterStatus',
    type: 'object',
    required: ['name', 'type', 'enabled', 'state'],
    properties: {
      name: str(),
      type: str(),
      enabled: { type: 'boolean' },
      state: { type: 'string', enum: ['idle', 'sending', 'retrying', 'failing', 'stopped', 'disabled'] },
      depth: int('events queued'),
      bytes: int('bytes queued'),
      maxBytes: int('queue.maxBytes'),
      oldestEventAgeSec: { type: 'number', minimum: 0 },
      delivered: int('since the server started'),
      deadLettered: int('since the server started'),
      deadLetterFile: str(),
      corruptQueueMovedTo: str('an unreadable journal segment (or an older release\'s queue file) was moved here at start'),
      sink: {
        type: 'object',
        description: 'what only this type of emitter counts; audit-store: duplicateEvents, events already stored (same id and source) since the server started',
        additionalProperties: true,
      },
      lastError: {
        anyOf: [{ type: 'object', required: ['message', 'at'], properties: { message: str(), at: str() }, additionalProperties: false }, { type: 'null' }],
      },
    },
    additionalProperties: true,
  },
];

const ERROR = ref('ApiError');

/** Answers the transport, the router or the key check may give on any route, before or beside its handler. */
const ANY_ROUTE: Record<number, Json> = {
  400: { ...ERROR, description: 'HTTP_MALFORMED (the connection is closed), BAD_URL' },
  401: { ...ERROR, description: 'UNAUTHORIZED: missing or invalid API key, when server.apiKeys is set (with WWW-Authenticate: Bearer)' },
  404: { ...ERROR, description: 'ROUTE_NOT_FOUND, or NOT_FOUND / NO_AUDIT_STORE for what the route names' },
  408: { ...ERROR, description: 'REQUEST_TIMEOUT: headers or the whole request too slow; the connection is closed' },
  414: { ...ERROR, description: 'URL_TOO_LONG: a path parameter longer than the router accepts' },
  431: { ...ERROR, description: 'HEADERS_TOO_LARGE; the connection is closed' },
  500: { ...ERROR, description: 'INTERNAL: see the server log' },
};

/** Answers of the public routes, which no key check refuses. */
function publicAnswers(): Record<number, Json> {
  const { 401: _unauthorized, ...rest } = ANY_ROUTE;
  return rest;
}

const description = (text: string) => ({ description: text });

const ingestBody: Json = {
  description:
    'One JSON object, a JSON array of objects, NDJSON (one object per line), or text/plain lines (VPC flow log lines, Blitz logback lines, ' +
    'read as the format parameter says), optionally with Content-Encoding: gzip. ' +
    'Any record format docs/formats.md lists: Foxpass, Blitz, Temporal, CloudTrail, VPC Flow, or an auditstream event.',
  content: Object.fromEntries(
    ACCEPTED_TYPES.map((type) => [
      type,
      {
        schema:
          type === 'application/json'
            ? { oneOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: { type: 'object', additionalProperties: true } }] }
            : type === TEXT_TYPE
              ? { type: 'string', description: 'one record per line, UTF-8 (charset=utf-8 or none); blank lines are skipped' }
              : { type: 'string', description: 'one JSON object per line' },
      },
    ]),
  ),
};

/** Every error answer of a Firehose route: Firehose's own error shape, with the API's `error` and `code` beside it. */
const FIREHOSE_ERROR: Json = {
  type: 'object',
  required: ['requestId', 'timestamp', 'errorMessage', 'error', 'code'],
  properties: {
    requestId: str('X-Amz-Firehose-Request-Id, echoed; empty when the request had none'),
    timestamp: int('epoch milliseconds'),
    errorMessage: str('what is wrong; Firehose logs it'),
    error: str('the same text, as every error answer of the API has it'),
    code: str(),
  },
  additionalProperties: false,
};
const firehoseError = (text: string): Json => ({ ...FIREHOSE_ERROR, description: text });

export const routeSchemas = {
  ingest: {
    summary: 'Send events',
    operationId: 'postEvents',
    tags: ['events'],
    body: ingestBody,
    querystring: {
      type: 'object',
      properties: {
        format: {
          type: 'string',
          enum: [...TEXT_FORMATS],
          description:
            'How the lines of a text/plain body are read; refused with any other body. Default: the textFormat of the API key sent, else auto (each line detected on its own).',
        },
      },
    },
    response: {
      ...ANY_ROUTE,
      202: {
        ...description('Acknowledged: every accepted event is on disk (or delivered, with audit.ack: delivered)'),
        type: 'object',
        required: ['accepted', 'rejected', 'rejectedTotal', 'ids'],
        properties: { accepted: int(), rejected: { type: 'array', items: ref('Rejection') }, rejectedTotal: int(), ids: { type: 'array', items: str() } },
        additionalProperties: false,
      },
      400: { ...ref('IngestError'), ...description('BODY_MALFORMED, BODY_EMPTY, NO_VALID_EVENTS (with the rejected records), FORMAT_INVALID, HTTP_MALFORMED, BAD_URL') },
      413: { ...ref('IngestError'), ...description('BODY_TOO_LARGE (server.limits.maxBodyBytes), TOO_MANY_EVENTS (server.limits.maxEventsPerRequest)') },
      415: { ...ERROR, ...description('UNSUPPORTED_MEDIA_TYPE, UNSUPPORTED_ENCODING, UNSUPPORTED_CHARSET (a text/plain charset other than UTF-8)') },
      429: { ...ref('IngestError'), ...description('QUEUE_FULL, INGEST_BUSY: not acknowledged, retry after Retry-After seconds') },
      503: { ...ref('IngestError'), ...description('DELIVERY_FAILED (the delivery policy did not hold), STOPPING') },
    },
  },
  firehose: {
    summary: 'Receive an Amazon Data Firehose HTTP endpoint delivery',
    operationId: 'firehoseDelivery',
    tags: ['events'],
    headers: {
      type: 'object',
      required: ['x-amz-firehose-access-key'],
      properties: {
        'x-amz-firehose-access-key': str("one of the source's access keys (its secureParams); no API key is taken here"),
        'x-amz-firehose-request-id': str('echoed in every answer; the same on every retry of a request'),
        'x-amz-firehose-source-arn': str('stored on each event as origin.deliveryStreamArn'),
        'x-amz-firehose-common-attributes': str('{"commonAttributes": {…}}: stored on each event as origin["attribute.<name>"]'),
      },
    },
    body: {
      description: 'Firehose\'s delivery, optionally with Content-Encoding: gzip. Each record\'s data is base64 of any record docs/formats.md lists, or of a gzip\'d CloudWatch Logs subscription payload.',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['requestId', 'timestamp', 'records'],
            properties: {
              requestId: str(),
              timestamp: int('epoch milliseconds'),
              records: { type: 'array', items: { type: 'object', required: ['data'], properties: { data: str('base64') } } },
            },
          },
        },
      },
    },
    response: {
      200: {
        description: 'Acknowledged: every event of every record is on disk (or delivered, with audit.ack: delivered)',
        type: 'object',
        required: ['requestId', 'timestamp'],
        properties: { requestId: str('the request id, echoed'), timestamp: int('epoch milliseconds') },
        additionalProperties: false,
      },
      400: firehoseError('BODY_MALFORMED: not a Firehose delivery (names the field), or not valid gzip; HTTP_MALFORMED, BAD_URL'),
      401: firehoseError('UNAUTHORIZED: X-Amz-Firehose-Access-Key missing or not one of the source\'s keys'),
      404: { ...ERROR, description: 'ROUTE_NOT_FOUND' },
      408: { ...ERROR, description: 'REQUEST_TIMEOUT: headers or the whole request too slow; the connection is closed' },
      413: firehoseError("BODY_TOO_LARGE (the source's maxBodyBytes), TOO_LARGE (maxRecordsPerRequest, maxDecodedBytes)"),
      414: { ...ERROR, description: 'URL_TOO_LONG' },
      415: firehoseError('UNSUPPORTED_MEDIA_TYPE, UNSUPPORTED_ENCODING'),
      431: { ...ERROR, description: 'HEADERS_TOO_LARGE; the connection is closed' },
      500: firehoseError('DELIVERY_FAILED (the delivery policy did not hold), PUBLISH_FAILED, INTERNAL: Firehose retries the request'),
      503: firehoseError('QUEUE_FULL, STOPPING: Firehose retries the request'),
    },
  },
  search: {
    summary: 'Search the audit store, newest first',
    operationId: 'searchEvents',
    tags: ['events'],
    querystring: {
      type: 'object',
      properties: {
        type: str('event type'),
        actor: str(),
        outcome: str(OUTCOMES.join(' | ')),
        source: str('the format: foxpass, blitz, …'),
        sessionId: str(),
        clientIp: str(),
        from: str('inclusive: ISO 8601 with an offset, or epoch seconds or milliseconds'),
        to: str('exclusive, as from'),
        q: str('substring of message, any case'),
        limit: str('events per page, 1–1000, default 100'),
        cursor: str('nextCursor of the previous page, unchanged'),
      },
      // Unknown parameters reach the search, which names them: a misspelt filter must not return every event.
      additionalProperties: true,
    },
    response: {
      ...ANY_ROUTE,
      200: {
        type: 'object',
        required: ['events'],
        properties: { events: { type: 'array', items: ref('Event') }, nextCursor: str('present while more events match') },
        additionalProperties: false,
      },
      400: { ...ref('QueryError'), ...description('QUERY_INVALID, naming the parameter') },
      503: { ...ERROR, ...description('the audit store is unavailable; Retry-After') },
    },
  },
  getEvent: {
    summary: 'One event by id',
    operationId: 'getEvent',
    tags: ['events'],
    params: { type: 'object', required: ['id'], properties: { id: str('percent-encoded (encodeURIComponent)') } },
    querystring: {
      type: 'object',
      properties: { source: str('the producer (foxpass, blitz, …): needed only when several sources stored an event with this id') },
      // Unknown parameters reach the handler, which names them: a misspelt source must not be ignored.
      additionalProperties: true,
    },
    response: {
      ...ANY_ROUTE,
      200: ref('Event'),
      400: { ...ERROR, description: 'HTTP_MALFORMED (the connection is closed), BAD_URL, or QUERY_INVALID with `parameter` naming a parameter other than source' },
      409: {
        type: 'object',
        required: ['error', 'code', 'sources'],
        properties: { error: str(), code: str('EVENT_ID_AMBIGUOUS'), sources: { type: 'array', items: str() } },
        additionalProperties: false,
        ...description('EVENT_ID_AMBIGUOUS: several sources stored an event with this id; ask again with ?source= one of sources'),
      },
      503: { ...ERROR, ...description('the audit store is unavailable; Retry-After') },
    },
  },
  emitters: {
    summary: 'Configured emitters and their state',
    operationId: 'listEmitters',
    tags: ['emitters'],
    response: {
      ...ANY_ROUTE,
      200: { type: 'object', required: ['emitters'], properties: { emitters: { type: 'array', items: ref('EmitterStatus') } }, additionalProperties: false },
    },
  },
  testEmitter: {
    summary: 'Test & Add: check an emitter’s credentials and destination step by step, sending no events',
    operationId: 'testEmitter',
    tags: ['emitters'],
    params: { type: 'object', required: ['name'], properties: { name: str('the emitter name') } },
    response: {
      ...ANY_ROUTE,
      413: { ...ERROR, ...description('BODY_TOO_LARGE: the request has a body over server.limits.maxBodyBytes (none is needed)') },
      415: { ...ERROR, ...description('UNSUPPORTED_MEDIA_TYPE: the request has a body of another type (none is needed)') },
      200: {
        type: 'object',
        required: ['emitter', 'ok', 'steps'],
        properties: {
          emitter: str(),
          ok: { type: 'boolean' },
          steps: {
            type: 'array',
            items: { type: 'object', required: ['step', 'ok'], properties: { step: str(), ok: { type: 'boolean' }, detail: str() }, additionalProperties: true },
          },
        },
        additionalProperties: false,
      },
    },
  },
  sources: {
    summary: 'Sources and their state',
    operationId: 'listSources',
    tags: ['sources'],
    response: {
      ...ANY_ROUTE,
      200: {
        type: 'object',
        required: ['sources'],
        properties: {
          sources: {
            type: 'array',
            items: { type: 'object', required: ['name'], properties: { name: str(), type: str() }, additionalProperties: true, description: 'shards, checkpoints, lag: per source type' },
          },
        },
        additionalProperties: false,
      },
    },
  },
  healthz: {
    summary: 'Summary: serving or stopping, and each emitter’s state',
    operationId: 'health',
    tags: ['probes'],
    response: {
      ...publicAnswers(),
      200: {
        type: 'object',
        required: ['status', 'emitters'],
        properties: {
          status: { type: 'string', const: 'ok' },
          emitters: { type: 'array', items: { type: 'object', required: ['name', 'state'], properties: { name: str(), state: str() }, additionalProperties: false } },
        },
        additionalProperties: false,
      },
      503: {
        ...description('stopping'),
        type: 'object',
        required: ['error', 'code', 'status', 'emitters'],
        properties: { error: str(), code: { type: 'string', const: 'STOPPING' }, status: { type: 'string', const: 'stopping' }, emitters: { type: 'array' } },
        additionalProperties: false,
      },
    },
  },
  livez: {
    summary: 'Liveness: 200 while the process answers, stopping included',
    operationId: 'live',
    tags: ['probes'],
    response: { ...publicAnswers(), 200: { type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ok' } }, additionalProperties: false } },
  },
  readyz: {
    summary: 'Readiness: whether to send this instance traffic',
    operationId: 'ready',
    tags: ['probes'],
    response: {
      ...publicAnswers(),
      200: {
        type: 'object',
        required: ['status', 'reasons'],
        properties: { status: { type: 'string', const: 'ready' }, reasons: { type: 'array', maxItems: 0 } },
        additionalProperties: false,
      },
      503: {
        ...description('stopping, or a required emitter is failing or its queue is full'),
        type: 'object',
        required: ['error', 'code', 'status', 'reasons'],
        properties: { error: str(), code: { type: 'string', const: 'NOT_READY' }, status: { type: 'string', const: 'not ready' }, reasons: { type: 'array', minItems: 1, items: str() } },
        additionalProperties: false,
      },
    },
  },
  metrics: {
    summary: 'Prometheus metrics',
    operationId: 'metrics',
    tags: ['probes'],
    response: { ...publicAnswers(), 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
  },
  openapi: {
    summary: 'This document (OpenAPI 3.1)',
    operationId: 'openapi',
    tags: ['probes'],
    response: { ...publicAnswers(), 200: { type: 'object', required: ['openapi', 'paths'], additionalProperties: true } },
  },
} satisfies Record<string, FastifySchema & Json>;

export function addSharedSchemas(app: FastifyInstance): void {
  for (const schema of SHARED) app.addSchema(schema);
}
