import type { FastifyInstance } from 'fastify';
import type { AuditstreamConfig } from '../config/schema.js';
import { DeliveryPolicy } from '../pipeline/delivery-policy.js';
import { minQueueBytes } from '../pipeline/emitter-config.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { routeSchemas } from './schemas.js';

export interface ProbeOptions {
  config: AuditstreamConfig;
  pipeline: Pipeline;
  /** True from the moment shutdown begins. */
  stopping: () => boolean;
}

/**
 * Why this instance should not be sent traffic now, empty when it should.
 * Only emitters the delivery policy requires count: a best-effort emitter's
 * trouble never fails a producer's request, so it must not take the instance
 * out of service either. The reasons are public (no API key), so a failing
 * emitter is named with its state only: its error can hold file paths, hosts
 * or account ids, and stays behind the key in GET /v1/emitters.
 */
export function notReadyReasons({ config, pipeline, stopping }: ProbeOptions): string[] {
  if (stopping()) return ['stopping: the server is shutting down'];
  const policy = new DeliveryPolicy(config.audit);
  // Room for one event of the largest size ingest accepts, as queued: less, and the next such request is refused (429) or drops events.
  const headroom = minQueueBytes(config.server.limits.maxEventBytes);
  const reasons: string[] = [];
  for (const e of pipeline.emitters) {
    if (!policy.isRequired(e.name)) continue;
    const s = e.status();
    if (s.state === 'failing') reasons.push(`emitter "${e.name}" is failing (its error: GET /v1/emitters)`);
    if (s.bytes + headroom > s.maxBytes) {
      reasons.push(`emitter "${e.name}": queue full (${s.bytes} of ${s.maxBytes} bytes, no room for one more event of server.limits.maxEventBytes)`);
    }
  }
  return reasons;
}

/** Kubernetes-style probes: /livez for the process, /readyz for whether to route traffic here. */
export function registerProbes(app: FastifyInstance, opts: ProbeOptions): void {
  // Answers while the event loop runs, stopping included: restarting a process that is draining its queues would only cut the drain short.
  app.get('/livez', { config: { public: true }, schema: routeSchemas.livez }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { public: true }, schema: routeSchemas.readyz }, async (_req, reply) => {
    const reasons = notReadyReasons(opts);
    if (reasons.length === 0) return reply.send({ status: 'ready', reasons });
    return reply.code(503).send({ error: `not ready: ${reasons.join('; ')}`, code: 'NOT_READY', status: 'not ready', reasons });
  });
}
