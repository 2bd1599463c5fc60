import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { InvalidEventError, errorMessage } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import type { AuditStore, InsertResult } from '../store/audit-store.js';
import { openAuditStore, storeUrlProblem } from '../store/open-store.js';
import type { BatchLimits, CheckStep, DeliveryOutcome, Sink, SinkContext, SinkDefinition } from './sink.js';

const schema = z.strictObject({
  /** Absent: SQLite at `${dataDir}/audit.db`. `sqlite:PATH`, a file path, or postgres://… */
  url: z
    .string()
    .min(1)
    .superRefine((url, ctx) => {
      const problem = storeUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  /** PostgreSQL connections this emitter keeps at most. */
  poolSize: z.number().int().min(1).max(100).default(5),
  /**
   * Events per insert transaction. Under a backlog, a larger transaction
   * writes each index page it touches once for many rows (an actor index
   * page is touched by nearly every batch) and pays one commit for all of
   * them: in SQLite, 5000 writes a third of the WAL pages per event that 500 does.
   */
  batchSize: z.number().int().min(1).max(10_000).default(5000),
});

export type AuditStoreSinkConfig = z.infer<typeof schema>;

const DELIVERED: DeliveryOutcome = { status: 'delivered' };

const DUPLICATES_METRIC = 'auditstream_store_duplicate_events_total';

/** Several audit-store emitters share one registry: the counter is created once and found again by name. */
function duplicatesCounter(registry: Registry): Counter<'component_id'> {
  return (
    (registry.getSingleMetric(DUPLICATES_METRIC) as Counter<'component_id'> | undefined) ??
    new Counter({
      name: DUPLICATES_METRIC,
      help: 'Events an audit-store emitter delivered that were stored already (same id and source): a replay, or a producer resending.',
      labelNames: ['component_id'],
      registers: [registry],
    })
  );
}

/** Refusals naming their event that one batch follows, each with a call over every event left, before it halves instead. */
const MAX_NAMED_REFUSALS = 16;

/**
 * Stores events for search. The pipeline gives `store` to the search service,
 * so search reads what this emitter wrote through the same connection pool.
 * Inserts dedupe on (id, source), so a replayed event counts as delivered
 * without being stored twice, and is counted as a duplicate.
 */
export class AuditStoreSink implements Sink {
  readonly batch: BatchLimits;
  private readonly duplicates: Counter<'component_id'>;
  private readonly labels: { component_id: string };
  private duplicateEvents = 0;

  /** Present when the store parses events elsewhere (SQLite's writer thread): the emitter then hands over the journal's bytes unparsed. */
  readonly sendStored?: (batch: readonly Buffer[], signal?: AbortSignal) => Promise<DeliveryOutcome[]>;

  constructor(
    readonly store: AuditStore,
    batchSize: number,
    emitterName: string,
    registry: Registry,
  ) {
    // Rows are small and the insert is one local transaction: sending at once keeps search fresh.
    this.batch = { maxEvents: batchSize, maxBytes: 16 * 1024 * 1024, lingerMs: 0 };
    this.duplicates = duplicatesCounter(registry);
    this.labels = { component_id: emitterName };
    // Present at 0 from the start, so an alert on its rate sees 0 rather than no series.
    this.duplicates.inc(this.labels, 0);
    const insertJson = store.insertJson?.bind(store);
    if (insertJson) this.sendStored = (batch) => this.delivered(batch, insertJson);
  }

  status(): Record<string, unknown> {
    return { duplicateEvents: this.duplicateEvents };
  }

  send(batch: readonly AuditEvent[], _signal?: AbortSignal): Promise<DeliveryOutcome[]> {
    return this.delivered(batch, (events) => this.store.insert(events));
  }

  async check(_signal?: AbortSignal): Promise<CheckStep[]> {
    const steps: CheckStep[] = [];
    const step = async (name: string, work: () => Promise<string>) => {
      try {
        steps.push({ step: name, ok: true, detail: await work() });
        return true;
      } catch (err) {
        steps.push({ step: name, ok: false, detail: errorMessage(err) });
        return false;
      }
    };
    const reachable = await step(`connect to ${this.store.location} and apply schema migrations`, async () => {
      await this.store.ping();
      return 'reachable, schema up to date';
    });
    if (reachable) await step('read the audit_events table', async () => `${await this.store.count()} events stored`);
    return steps;
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private async delivered<T>(batch: readonly T[], insert: (batch: readonly T[]) => Promise<InsertResult>): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = batch.map(() => DELIVERED);
    await this.inserted(batch, [...batch.keys()], insert, outcomes, { indexed: 0 });
    return outcomes;
  }

  /**
   * Inserts the events of `batch` at `indices`; each one the store refuses
   * for its content is marked rejected in `outcomes` with the store's reason.
   * Any other error is the store's, not an event's: thrown, the whole batch
   * stays queued, and what went in already is deduped when it comes again.
   *
   * A refusal that names its event sets it aside and sends the rest again in
   * one call, so k bad events cost k + 1 inserts (each a transaction and an
   * fsync) rather than one per event. But each such call costs the rows of
   * every event left: past MAX_NAMED_REFUSALS in one batch (the named event
   * still set aside, never searched for again), and for a refusal that names
   * none (PostgreSQL refusing a value server-side), the events left are
   * halved instead. Every event is then in at most log2(n) calls, so a
   * batch of many bad events costs O(n log n) rows, not n rows per refusal.
   */
  private async inserted<T>(
    batch: readonly T[],
    indices: readonly number[],
    insert: (batch: readonly T[]) => Promise<InsertResult>,
    outcomes: DeliveryOutcome[],
    budget: { indexed: number },
  ): Promise<void> {
    let rest = indices;
    while (rest.length > 0) {
      try {
        this.counted(await insert(rest.length === batch.length ? batch : rest.map((i) => batch[i]!)));
        return;
      } catch (err) {
        if (!(err instanceof InvalidEventError)) throw err;
        if (rest.length === 1) {
          outcomes[rest[0]!] = { status: 'rejected', reason: err.message };
          return;
        }
        const at = err.index;
        if (at !== undefined && Number.isInteger(at) && at >= 0 && at < rest.length) {
          outcomes[rest[at]!] = { status: 'rejected', reason: err.message };
          rest = rest.filter((_, i) => i !== at);
          if (++budget.indexed <= MAX_NAMED_REFUSALS) continue;
        }
        const half = Math.ceil(rest.length / 2);
        await this.inserted(batch, rest.slice(0, half), insert, outcomes, budget);
        await this.inserted(batch, rest.slice(half), insert, outcomes, budget);
        return;
      }
    }
  }

  private counted({ duplicates }: InsertResult): void {
    if (duplicates === 0) return;
    this.duplicateEvents += duplicates;
    this.duplicates.inc(this.labels, duplicates);
  }
}

export const auditStoreSink: SinkDefinition<AuditStoreSinkConfig> = {
  type: 'audit-store',
  schema,
  create(config: AuditStoreSinkConfig, ctx: SinkContext): Sink {
    const store = openAuditStore(config.url, { dataDir: ctx.dataDir, poolSize: config.poolSize, logger: ctx.logger });
    return new AuditStoreSink(store, config.batchSize, ctx.emitterName, ctx.metrics);
  },
};
