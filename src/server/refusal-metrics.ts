import type { FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';

const NAME = 'auditstream_http_refused_requests_total';

/** The code of an error answer, read from its start so a large body is not parsed: every error answer leads with error and code. */
const CODE = /"code":"([A-Z0-9_]{1,64})"/;

/**
 * Counts every answer of 400 or more by the route the router matched and
 * the answer's code: a tenant looping into MANAGE_RATE_LIMITED or
 * TENANT_QUOTA_EXCEEDED, ingest refused INGEST_BUSY, keys refused, each is
 * visible without reading logs. Both labels are bounded: routes are the
 * server's own patterns (an unmatched path counts as `unmatched`), codes its own
 * constants.
 */
export function countRefusals(app: FastifyInstance, count: RefusalCounter): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode < 400) return payload;
    const head = typeof payload === 'string' ? payload.slice(0, 8192) : Buffer.isBuffer(payload) ? payload.subarray(0, 8192).toString('utf8') : '';
    count(req.routeOptions.url ?? UNMATCHED, CODE.exec(head)?.[1] ?? `HTTP_${reply.statusCode}`);
    return payload;
  });
}

/** Counts one refusal; what answers before any route runs (the HTTP parser, the router) calls it with UNMATCHED. */
export type RefusalCounter = (route: string, code: string) => void;

export const UNMATCHED = 'unmatched';

/**
 * The counter behind auditstream_http_refused_requests_total. Made before the
 * Fastify instance: the HTTP parser's and the router's refusals are answered
 * from its options, where no route hook runs.
 */
export function refusalCounter(registry: Registry): RefusalCounter {
  // buildApp may run more than once on one pipeline (tests, a restart of the listener): one series set per registry.
  const counter = (registry.getSingleMetric(NAME) as Counter<'route' | 'code'> | undefined) ??
    new Counter({ name: NAME, help: 'HTTP answers with status 400 or more, by matched route and error code.', labelNames: ['route', 'code'], registers: [registry] });
  return (route, code) => counter.inc({ route, code });
}
