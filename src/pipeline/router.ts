import type { Logger } from 'pino';
import { eventJson } from '../core/component-metrics.js';
import type { AuditEvent } from '../core/event.js';
import { errorMessage } from '../core/errors.js';
import { QueueFullError } from '../queue/errors.js';
import type { Journal, JournalAppend } from '../queue/journal.js';
import type { PublishResult, Publisher } from '../sources/source.js';
import type { DeliveryPolicy } from './delivery-policy.js';
import type { Emitter } from './emitter.js';
import type { PipelineMetrics } from './metrics.js';
import type { RouteTable } from './route-table.js';

export interface RouterOptions {
  /** The emitters, changed at run time as tenants add and remove destinations. */
  routes: RouteTable;
  journal: Journal;
  policy: DeliveryPolicy;
  ack: 'buffered' | 'delivered';
  timeoutMs: number;
  logger: Logger;
  metrics: PipelineMetrics;
}

interface Failure {
  reason: string;
  retryAfterSec?: number;
}

/**
 * Routes events to emitters (include/exclude), writes them once to the journal for all of them and
 * answers as soon as the delivery policy holds for every event — or, at the
 * deadline, says which emitters failed it. The producer's acknowledgement
 * hangs on this answer; emitters the policy does not require are never waited for.
 */
export class Router implements Publisher {
  constructor(private readonly opts: RouterOptions) {}

  /**
   * `signal` (a source stopping) ends the wait early: the answer is then not ok, the events stay queued.
   * `journalled` is called once the journal has written or refused the events, before any wait for
   * delivery: from then on this publish holds no event or payload, only its bookkeeping per event.
   */
  publish(events: AuditEvent[], signal?: AbortSignal, journalled?: () => void): Promise<PublishResult> {
    const { routes: table, metrics } = this.opts;
    const payloads = events.map(eventJson);
    const sizes = payloads.map((p) => p.length);
    metrics.router.received(events.length, sizes.reduce((n, b) => n + b, 0));
    // Looked up once per (tenant, type) in the table, not computed per event: there may be thousands of emitters.
    const routes = events.map((e) => table.routesFor(e));
    const unrouted = routes.filter((r) => r.length === 0).length;
    if (unrouted > 0) metrics.router.discarded('no_emitter', unrouted);
    // Built here, outside answer()'s closures, so that a publish waiting for delivery (ack: delivered)
    // keeps neither the events nor their payloads alive: a producer waiting on one tenant's dead
    // destination must not hold memory, or the ingest budget, that other producers need.
    const appends = events.map((e, i) => ({ eventId: e.id, partitionKey: null, payload: payloads[i]!, event: e, destinations: routes[i]! })).filter((a) => a.destinations.length > 0);
    return this.answer(appends, routes, sizes, signal, journalled);
  }

  /** Appends, then answers as soon as the delivery policy holds for every event, or at the deadline. */
  private answer(
    initialAppends: JournalAppend[],
    routes: readonly (readonly string[])[],
    sizes: readonly number[],
    signal: AbortSignal | undefined,
    journalled: (() => void) | undefined,
  ): Promise<PublishResult> {
    const { routes: table, policy, metrics, logger, ack } = this.opts;
    // Dropped once the journal has them (see publish).
    let appends: JournalAppend[] | undefined = initialAppends;

    // Emitters holding their share of the events on disk: the journal takes or refuses an emitter's
    // whole share, so one set says it for every event (event i's are those of routes[i] in it).
    const queued = new Set<string>();
    // Those that count for the policy: under ack: buffered the queued ones (that same set); under
    // ack: delivered each event is confirmed on its own. No set per event under buffered: they lived
    // until the fsync, long enough for the GC to promote them.
    const confirmedEach = ack === 'delivered' ? routes.map(() => new Set<string>()) : undefined;
    const failures = new Map<string, Failure>();
    const tracked = new Map<Emitter, number[]>();
    /** Destinations deleted while this publish was under way: they no longer count for it. */
    const gone = new Set<string>();
    let finished = false;

    return new Promise<PublishResult>((resolve) => {
      let outstanding = 0;
      const finish = (result: PublishResult) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        for (const [em, seqs] of tracked) em.forget(seqs);
        if (!result.ok) metrics.publishFailed.inc({ reason: result.retryAfterSec !== undefined ? 'queue_full' : ack === 'delivered' ? 'not_delivered' : 'not_queued' });
        resolve(result);
      };
      // Events not yet satisfied. Satisfaction only grows (confirmations and queued copies are added,
      // deleted destinations drop out), so a change is checked against the events it touched: a
      // request spread over a thousand destinations must not re-check every event per destination.
      const waiting = new Set<number>();
      routes.forEach((r, i) => {
        if (r.length > 0) waiting.add(i);
      });
      const missingOf = (i: number): string[] => {
        const routed = gone.size === 0 ? routes[i]! : routes[i]!.filter((name) => !gone.has(name));
        if (routed.length === 0) return [];
        const missing = policy.missing(routed, confirmedEach?.[i] ?? queued);
        // Whatever the policy, an accepted event must be on disk somewhere.
        if (!routes[i]!.some((name) => queued.has(name))) missing.push(...routed);
        return missing;
      };
      const evaluate = (final: boolean, why?: string, changed: Iterable<number> = waiting) => {
        if (finished) return;
        for (const i of changed) if (waiting.has(i) && missingOf(i).length === 0) waiting.delete(i);
        if (waiting.size === 0) return finish({ ok: true, failed: [] });
        if (!final) return;
        const missing = new Set<string>();
        for (const i of waiting) for (const name of missingOf(i)) missing.add(name);
        if (missing.size === 0) return finish({ ok: true, failed: [] });
        let retryAfterSec: number | undefined;
        const failed = [...missing].map((emitter) => {
          const f = failures.get(emitter);
          if (f?.retryAfterSec !== undefined) retryAfterSec = Math.max(retryAfterSec ?? 0, f.retryAfterSec);
          return { emitter, reason: f?.reason ?? why ?? 'no confirmation' };
        });
        finish({ ok: false, failed, ...(retryAfterSec !== undefined ? { retryAfterSec } : {}) });
      };
      const onAbort = () => evaluate(true, 'publish abandoned: the source is stopping (the events stay queued)');
      const timer = setTimeout(
        () => evaluate(true, `not ${ack === 'delivered' ? 'delivered' : 'queued'} within emitTimeoutInSec${ack === 'delivered' ? ' (the events stay queued and will be delivered)' : ''}`),
        this.opts.timeoutMs,
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });

      const indexesOf = new Map<Emitter, number[]>();
      routes.forEach((r, i) => {
        for (const name of r) {
          const em = table.emitter(name)!;
          let list = indexesOf.get(em);
          if (!list) indexesOf.set(em, (list = []));
          list.push(i);
        }
      });
      if (indexesOf.size === 0) return evaluate(true);
      outstanding = indexesOf.size;
      /** An emitter is done with its share of the events (`indexes`): queued, confirmed, refused or gone. */
      const settle = (indexes: readonly number[]) => {
        outstanding -= 1;
        evaluate(outstanding === 0, undefined, indexes);
      };
      const refusedBy = (em: Emitter, err: unknown, indexes: readonly number[]) => {
        const count = indexes.length;
        if (table.emitter(em.name) === undefined) {
          gone.add(em.name);
          return settle(indexes);
        }
        const retryAfterSec = err instanceof QueueFullError ? err.retryAfterSec : undefined;
        failures.set(em.name, { reason: errorMessage(err), ...(retryAfterSec !== undefined ? { retryAfterSec } : {}) });
        if (!policy.isRequired(em.name)) {
          // A best-effort emitter: the producer is not failed for it, but the loss is counted and logged.
          em.discarded(err instanceof QueueFullError ? 'queue_full' : 'queue_error', count);
          logger.warn({ emitter: em.name, reason: errorMessage(err), events: count }, 'a best-effort emitter did not take events');
        }
        settle(indexes);
      };
      // Each event written once, for every emitter that takes it.
      const written = this.opts.journal.append(appends!);
      appends = undefined;
      written
        .finally(() => journalled?.())
        .then(
          ({ seqs: written, refused }) => {
            // `written` lists the routed events only, in order.
            const seqOf: (number | undefined)[] = [];
            let k = 0;
            routes.forEach((r, i) => (seqOf[i] = r.length > 0 ? written[k++] : undefined));
            for (const [em, indexes] of indexesOf) {
              const error = refused.get(em.name);
              if (error) {
                refusedBy(em, error, indexes);
                continue;
              }
              queued.add(em.name);
              em.received(indexes.length, indexes.reduce((n, i) => n + sizes[i]!, 0));
              const track = ack === 'delivered' && policy.isRequired(em.name);
              if (!track) {
                settle(indexes);
                continue;
              }
              const seqs = indexes.map((i) => seqOf[i]!);
              if (finished) continue; // answered already: nobody waits for these
              tracked.set(em, seqs);
              const deliveries = em.track(seqs);
              let pending = deliveries.length;
              deliveries.forEach((d, j) =>
                d.then((report) => {
                  if (report.delivered) confirmedEach![indexes[j]!]!.add(em.name);
                  else if (!failures.has(em.name)) failures.set(em.name, { reason: report.reason ?? 'not delivered' });
                  if (--pending === 0) settle([indexes[j]!]);
                  else evaluate(false, undefined, [indexes[j]!]);
                }),
              );
            }
          },
          (err: unknown) => {
            for (const [em, indexes] of indexesOf) refusedBy(em, err, indexes);
          },
        );
    });
  }
}
