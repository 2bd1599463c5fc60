import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { packageVersion } from '../core/version.js';
import { createGunzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { AuditstreamConfig } from '../config/schema.js';
import { MAX_ENCODED_EVENT_ID_LENGTH } from '../core/ids.js';
import { RetriableError } from '../core/errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { testAndAdd } from '../pipeline/test-and-add.js';
import { ACCEPTED_TYPES, JSON_TYPES, TEXT_TYPE } from '../sources/http/content-types.js';
import { FirehoseSource } from '../sources/firehose/source.js';
import { HttpSource } from '../sources/http/source.js';
import { AmbiguousEventIdError } from '../store/ambiguous-id-error.js';
import { QueryError } from '../store/query-error.js';
import { NoAuditStoreError, type SearchService } from '../store/search-service.js';
import { requireApiKeys, tenantNotFound } from './auth.js';
import { HttpError, retryAfterHeader } from './http-error.js';
import { limitManageCalls } from './manage-rate-limit.js';
import { registerCloudFormationRoutes } from './cloudformation-route.js';
import { registerDestinationRoutes } from './destination-routes.js';
import { registerFirehoseRoute } from './firehose-route.js';
import { registerMetricsRoute } from './metrics-route.js';
import { countRefusals, refusalCounter } from './refusal-metrics.js';
import { ingestHandler, refuseExhaustedTenant } from './ingest-route.js';
import { registerTenantRoutes } from './tenant-routes.js';
import { registerProbes } from './probes.js';
import { addSharedSchemas, routeSchemas } from './schemas.js';
import { capConnections, transportOptions } from './transport.js';

export interface AppOptions {
  config: AuditstreamConfig;
  pipeline: Pipeline;
  /** Answers GET /v1/events and /v1/events/{id}; usually `pipeline.search`. */
  search: SearchService;
  logger: Logger;
}

/**
 * The HTTP API, built apart from `listen` so tests can inject requests or
 * listen on port 0.
 */
export function buildApp({ config, pipeline, search, logger }: AppOptions): FastifyInstance {
  const limits = config.server.limits;
  const refused = refusalCounter(pipeline.metrics.registry);
  const app = Fastify({
    // Per-request lines at info would drown the pipeline's own logs at ingest rates; errors still show.
    loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: limits.maxBodyBytes,
    ...transportOptions(config.server, refused),
    // Every accepted event id must be fetchable as GET /v1/events/{encodeURIComponent(id)}; the default (100) answered 414.
    routerOptions: { maxParamLength: MAX_ENCODED_EVENT_ID_LENGTH },
    // Fastify's own answer while closing is not the API's {error, code} shape: the routes answer for themselves
    // (ingest 503 STOPPING, /healthz and /readyz 503 "stopping").
    return503OnClosing: false,
  });
  capConnections(app, config.server.maxConnections);
  // Answers stay JSON.stringify'd: a serializer compiled from the response schemas would drop what they leave open.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  addSharedSchemas(app);
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'auditstream', version: packageVersion(), description: 'Stream security audit events: HTTP ingest, search, emitters, probes. See README.md.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'one of server.apiKeys' },
          firehoseAccessKey: { type: 'apiKey', in: 'header', name: 'X-Amz-Firehose-Access-Key', description: "one of the firehose source's access keys" },
        },
      },
    },
    exposeHeadRoutes: true,
    // Components named as the shared schemas are (ApiError, Event, …), not def-0, def-1.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // Routes marked public need no key; every other one does when server.apiKeys is set.
    transform: ({ schema, url, route }) => {
      if (route.config?.authenticatedBy === 'firehose-access-key') return { schema: { ...schema, security: [{ firehoseAccessKey: [] }] }, url };
      return { schema: route.config?.public === true || config.server.apiKeys.length === 0 ? schema : { ...schema, security: [{ apiKey: [] }] }, url };
    },
  });
  const http = new HttpSource({
    limits,
    listen: config.server.listen,
    eventTime: config.audit.eventTime,
    component: pipeline.metrics.component('source', 'http', 'http'),
    logger: logger.child({ source: 'http' }),
  });
  let stopping = false;
  // preClose runs before in-flight requests finish, so health checks and new requests see "stopping" at once.
  app.addHook('preClose', async () => {
    stopping = true;
    await http.stop();
  });

  countRefusals(app, refused);
  requireApiKeys(app, config.server.apiKeys, pipeline.tenancy.keys);
  const manageLimit = limitManageCalls(app, config.tenants.manageRateLimit);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

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
      if (err.retryAfterSec !== undefined) void reply.header('Retry-After', retryAfterHeader(err.retryAfterSec));
      return reply.code(err.statusCode).send({ error: err.message, code: err.code, ...err.extra });
    }
    if (err instanceof NoAuditStoreError) return reply.code(404).send({ error: err.message, code: err.code });
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
    const invalid = (err as FastifyError).validation?.[0];
    if (invalid) {
      // The route schemas' checks answer like the handlers' own: 400 naming the parameter. A bad query parameter keeps
      // the code the search has always given for one.
      const context = (err as FastifyError).validationContext;
      const parameter = invalid.instancePath.split('/')[1] ?? String((invalid.params as { missingProperty?: unknown }).missingProperty ?? context);
      const code = context === 'querystring' ? 'QUERY_INVALID' : 'BAD_REQUEST';
      return reply.code(400).send({ error: `${parameter}: ${invalid.message ?? 'invalid'}`, code, parameter });
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: err.message, code: code ?? 'BAD_REQUEST' });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error; see the server log', code: 'INTERNAL' });
  });

  app.setNotFoundHandler(async (req, reply) => {
    return reply.code(404).send({ error: `no route ${req.method} ${req.url.slice(0, 200)}; see the HTTP API in README.md`, code: 'ROUTE_NOT_FOUND' });
  });

  // Declared in a plugin, so after @fastify/swagger is loaded: it sees each route as it is added.
  void app.register(async (api) => {
    await http.start(pipeline.router);
    api.get('/healthz', { config: { public: true }, schema: routeSchemas.healthz }, async (_req, reply) => {
      const emitters = pipeline.emitters.map((e) => ({ name: e.name, state: e.status().state }));
      if (!stopping) return reply.send({ status: 'ok', emitters });
      return reply.code(503).send({ error: 'the server is shutting down', code: 'STOPPING', status: 'stopping', emitters });
    });

    registerProbes(api, { config, pipeline, stopping: () => stopping });

    api.get('/openapi.json', { config: { public: true }, schema: routeSchemas.openapi }, async () => app.swagger());

    registerMetricsRoute(api, config, pipeline);

    // Text bodies are ingest's alone: a scope of their own keeps every other route answering 415 to them. Awaited, so
    // the route is added here, in order, before the Firehose routes below check their paths against it.
    await api.register(async (ingest) => {
      ingest.addContentTypeParser(TEXT_TYPE, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      ingest.post(
        '/v1/events',
        // The body is documented, not validated here: ingest reads the raw bytes itself (limits, depth scan before JSON.parse).
        { schema: routeSchemas.ingest, config: { access: 'ingest' }, validatorCompiler: () => () => true, onRequest: refuseExhaustedTenant(http, pipeline.tenancy) },
        ingestHandler(http, pipeline.tenancy),
      );
    });

    api.get('/v1/events', { schema: routeSchemas.search, config: { access: 'read' } }, async (req) => {
      const query = req.query as Record<string, string>;
      return search.search(query, { maxBytes: limits.maxResponseBytes, tenant: readScopeOf(req, query.tenant) });
    });

    api.get('/v1/events/:id', { schema: routeSchemas.getEvent, config: { access: 'read' } }, async (req) => {
      const { id } = req.params as { id: string };
      const { source, ...unknown } = req.query as { source?: string };
      const [misspelt] = Object.keys(unknown);
      if (misspelt !== undefined) throw new QueryError(misspelt, 'unknown parameter (known: source)');
      let event;
      try {
        event = await search.get(id, source === '' ? undefined : source, { tenant: readScopeOf(req, undefined) });
      } catch (err) {
        if (err instanceof AmbiguousEventIdError) throw new HttpError(409, err.code, err.message, { sources: err.sources });
        throw err;
      }
      if (!event) throw new HttpError(404, 'NOT_FOUND', `no event with id ${id}${source ? ` from source ${source}` : ''} in the audit store`);
      return event;
    });

    await api.register(async (scope) => registerTenantRoutes(scope, { config, pipeline, logger, manageLimit }));

    api.get('/v1/emitters', { schema: routeSchemas.emitters }, async () => ({
      emitters: [
        ...pipeline.emitters.map((e) => e.status()),
        ...pipeline.disabled.map((d) => ({ name: d.name, type: d.common.type, enabled: false, state: 'disabled' })),
      ],
    }));

    api.post('/v1/emitters/:name/test', { schema: routeSchemas.testEmitter }, async (req) => {
      const { name } = req.params as { name: string };
      const emitter = pipeline.configured.find((e) => e.name === name);
      if (!emitter) throw new HttpError(404, 'NOT_FOUND', `no emitter named "${name}"`);
      return testAndAdd(emitter, { dataDir: pipeline.dataDir, logger, metrics: pipeline.metrics.registry, running: pipeline.emitter(name)?.sink });
    });

    registerCloudFormationRoutes(api, { config: config.tenants, tenants: pipeline.tenancy.tenants });

    api.get('/v1/sources', { schema: routeSchemas.sources }, async () => ({
      sources: [http, ...pipeline.sources].map((s) => ({ name: s.name, ...s.status() })),
    }));

    registerDestinationRoutes(api, pipeline);

    // Last, so that a source's path that names a route above is refused by name instead of clashing with it.
    for (const source of pipeline.sources) if (source instanceof FirehoseSource) registerFirehoseRoute(api, source);
  });

  return app;
}

/**
 * The tenant a read is confined to: a tenant key's own (naming another tenant
 * answers 404, as any other tenant's resource does); none for an admin key,
 * whose `?tenant=` is an ordinary search filter.
 */
function readScopeOf(req: FastifyRequest, named: unknown): string | undefined {
  const p = req.principal;
  if (p?.kind !== 'tenant') return undefined;
  if (typeof named === 'string' && named !== '' && named !== p.tenant) throw tenantNotFound(named);
  return p.tenant;
}
