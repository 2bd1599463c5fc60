import type { Logger } from 'pino';
import type { AuditEvent } from '../core/event.js';
import { errorMessage } from '../core/errors.js';
import { QueueFullError } from '../queue/errors.js';
import type { PublishResult, Publisher } from '../sources/source.js';
import type { DeliveryPolicy } from './delivery-policy.js';
import type { DeliveryReport, Emitter } from './emitter.js';
import type { PipelineMetrics } from './metrics.js';

export interface RouterOptions {
  emitters: readonly Emitter[];
  policy: DeliveryPolicy;
  ack: 'buffered' | 'delivered';
  timeoutMs: number;
  logger: Logger;
  metrics: PipelineMetrics;
}

type Confirmation = { ok: true } | { ok: false; reason: string; retryAfterSec?: number };

/**
 * Routes events to emitters (include/exclude), queues them durably and
 * answers when the delivery policy holds for every event — or says which
 * emitters failed it. The producer's acknowledgement hangs on this answer.
 */
export class Router implements Publisher {
  constructor(private readonly opts: RouterOptions) {}

  /** `signal` (a source stopping) ends the wait early: the answer is then not ok, the events stay queued. */
  async publish(events: AuditEvent[], signal?: AbortSignal): Promise<PublishResult> {
    const { emitters, policy, metrics, logger } = this.opts;
    const routes = events.map((e) => emitters.filter((em) => em.accepts(e)));
    const unrouted = routes.filter((r) => r.length === 0).length;
    if (unrouted > 0) {
      metrics.discarded.inc({ component_kind: 'router', component_id: 'router', component_type: 'router', reason: 'no_emitter' }, unrouted);
    }
    const track = this.opts.ack === 'delivered';
    const deadline = Date.now() + this.opts.timeoutMs;
    // confirmations[emitter][i] for the i-th event routed to that emitter
    const perEmitter = await Promise.all(
      emitters.map(async (em) => {
        const indexes: number[] = [];
        routes.forEach((r, i) => r.includes(em) && indexes.push(i));
        if (indexes.length === 0) return { em, indexes, results: [] as Confirmation[] };
        const results = await this.confirm(em, indexes.map((i) => events[i]!), track, deadline, signal);
        return { em, indexes, results };
      }),
    );

    const confirmed: Set<string>[] = events.map(() => new Set());
    const failures = new Map<string, string>();
    let retryAfterSec: number | undefined;
    for (const { em, indexes, results } of perEmitter) {
      results.forEach((c, k) => {
        if (c.ok) confirmed[indexes[k]!]!.add(em.name);
        else {
          if (!failures.has(em.name)) failures.set(em.name, c.reason);
          if (c.retryAfterSec !== undefined) retryAfterSec = Math.max(retryAfterSec ?? 0, c.retryAfterSec);
        }
      });
    }
    const failedRequired = new Set<string>();
    events.forEach((_, i) => {
      for (const name of policy.missing(routes[i]!.map((em) => em.name), confirmed[i]!)) failedRequired.add(name);
    });
    for (const [name, reason] of failures) {
      if (!failedRequired.has(name)) {
        // Best-effort emitter: the producer is not failed for it, but the loss is counted and logged.
        const em = emitters.find((e) => e.name === name)!;
        if (!track) metrics.discarded.inc({ ...metrics.emitterLabels(em), reason: 'queue_full' });
        logger.warn({ emitter: name, reason }, 'a best-effort emitter did not take events');
      }
    }
    if (failedRequired.size === 0) return { ok: true, failed: [] };
    metrics.publishFailed.inc({ reason: retryAfterSec !== undefined ? 'queue_full' : track ? 'not_delivered' : 'not_queued' });
    return {
      ok: false,
      failed: [...failedRequired].map((emitter) => ({ emitter, reason: failures.get(emitter) ?? 'no confirmation' })),
      ...(retryAfterSec !== undefined ? { retryAfterSec } : {}),
    };
  }

  private async confirm(em: Emitter, events: AuditEvent[], track: boolean, deadline: number, signal?: AbortSignal): Promise<Confirmation[]> {
    let queued: { seqs: number[]; deliveries: Promise<DeliveryReport>[] };
    try {
      queued = await withDeadline(em.enqueue(events, track), deadline, `not queued within emitTimeoutInSec`, signal);
    } catch (err) {
      const retryAfterSec = err instanceof QueueFullError ? err.retryAfterSec : undefined;
      return events.map(() => ({ ok: false as const, reason: errorMessage(err), ...(retryAfterSec !== undefined ? { retryAfterSec } : {}) }));
    }
    if (!track) return events.map(() => ({ ok: true as const }));
    try {
      const reports = await withDeadline(Promise.all(queued.deliveries), deadline, 'not delivered within emitTimeoutInSec', signal);
      return reports.map((r) => (r.delivered ? { ok: true as const } : { ok: false as const, reason: r.reason ?? 'not delivered' }));
    } catch (err) {
      em.forget(queued.seqs);
      return events.map(() => ({ ok: false as const, reason: `${errorMessage(err)} (the events stay queued and will be delivered)` }));
    }
  }
}

function withDeadline<T>(p: Promise<T>, deadline: number, message: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(new Error('publish abandoned: the source is stopping')));
    const timer = setTimeout(() => finish(() => reject(new Error(message))), Math.max(0, deadline - Date.now()));
    function finish(settle: () => void) {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}
