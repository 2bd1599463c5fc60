import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditstreamConfig } from '../config/schema.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { bearerChecker } from './auth.js';
import { routeSchemas } from './schemas.js';

/**
 * A series of a tenant's destination: its component_id is `<tenant>/<name>`.
 * A component of the config file can never match, its name allows no "/".
 */
const TENANT_SERIES = /\bcomponent_id="[^"]*\//;

/**
 * Prometheus text. Served without a key, as scrapers expect, but a request
 * without an admin key gets no series of a tenant's destinations: their
 * labels name the operator's customers and what they export to, which a
 * network neighbour has no business knowing. An admin key (or an open server)
 * gets every series.
 */
export function registerMetricsRoute(app: FastifyInstance, config: AuditstreamConfig, pipeline: Pipeline): void {
  const checkAdminKey = bearerChecker(config.server.apiKeys);
  const isAdmin = (req: FastifyRequest): boolean => {
    if (checkAdminKey === undefined) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return m !== null && checkAdminKey(m[1]!.trim()) !== undefined;
  };
  app.get('/metrics', { config: { public: true }, schema: routeSchemas.metrics }, async (req, reply) => {
    const text = await pipeline.metrics.registry.metrics();
    const shown = isAdmin(req) ? text : withoutTenantSeries(text);
    return reply.type(pipeline.metrics.registry.contentType).send(shown);
  });
}

/** The exposition text without the sample lines of tenant destinations. */
export function withoutTenantSeries(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.startsWith('#') || !TENANT_SERIES.test(line))
    .join('\n');
}
