import type { Logger } from 'pino';
import { type ComponentMetrics, eventJson, rememberEventJson } from '../core/component-metrics.js';
import type { AuditEvent } from '../core/event.js';
import { FatalError, RetriableError, errorMessage, isProgrammingError } from '../core/errors.js';
import type { DeadLetter, DeadLetterFile } from '../queue/dead-letter-file.js';
import type { DestinationQueue, Journal, JournalEntry } from '../queue/journal.js';
import type { BatchLimits, DeliveryOutcome, Sink } from '../sinks/sink.js';
import { abortable, sleep } from '../core/async.js';
import { backoffDelayMs } from '../core/retry.js';
import type { EmitterState, PipelineMetrics } from './metrics.js';
import { storedEvent } from './stored-event.js';

export interface EmitterOptions {
  name: string;
  type: string;
  /** The tenant owning this emitter (a tenant destination); undefined for the config file's global emitters. */
  tenant?: string | undefined;
  sink: Sink;
  /** The shared journal, and this emitter's backlog in it. */
  journal: Journal;
  queue: DestinationQueue;
  deadLetter: DeadLetterFile;
  accepts: (type: string) => boolean;
  retry: { initialBackoffMs: number; maxBackoffMs: number };
  batch: BatchLimits;
  logger: Logger;
  metrics: PipelineMetrics;
  /** An unreadable queue file or journal segment found at start, moved aside: shown in status. */
  corruptQueueMovedTo?: string | undefined;
  /**
   * Replaces the secret values of the sink's config in a text: what the sink
   * says failed (a receiver answering "invalid token <the token>", or echoing
   * its URL) goes through it before it is kept, logged or dead-lettered.
   */
  scrub?: ((text: string) => string) | undefined;
}

/** What became of one event at one emitter. */
export interface DeliveryReport {
  delivered: boolean;
  reason?: string;
}

type QueuedDeadLetter = DeadLetter & { seq: number };

interface InFlight {
  entry: JournalEntry;
  /** Undefined for a sink taking stored bytes (sendStored): it is never parsed here. */
  event: AuditEvent | undefined;
}

/**
 * The batch with its own copies of its bytes. A payload from the journal's
 * entry cache is a view of a whole group commit's or segment read's block,
 * up to megabytes: a batch waiting to be resent would keep every block it
 * touches alive, outside the cache's bound, for as long as its destination
 * fails (a rare event type, one per block, 5 000 to a batch). Done once a
 * send has failed, so a batch delivered at once never pays for the copies;
 * bytes already the batch's own are kept as they are.
 */
function ownBytes(pending: InFlight[]): InFlight[] {
  return pending.map((p) => {
    const payload = p.entry.payload;
    if (payload.byteLength === payload.buffer.byteLength) return p;
    const copy = Buffer.allocUnsafeSlow(payload.byteLength);
    payload.copy(copy);
    // The event remembers the payload as its JSON (parsed from it, or appended with it): the same bytes, now its own.
    if (p.event && eventJson(p.event) === payload) rememberEventJson(p.event, copy);
    return { entry: { ...p.entry, payload: copy }, event: p.event };
  });
}

/** One batch of the window: the highest seq read into it, and when its delivery ends. */
interface Flight {
  lastSeq: number;
  ended: Promise<void>;
  finished: boolean;
}

/**
 * An emitter at run time: its backlog in the journal, its sink and the
 * delivery loop between them. Events leave the backlog only when the sink
 * confirmed them or they were written to the dead-letter file; everything
 * else is retried. With nothing to deliver it holds no timer and polls
 * nothing: the journal wakes it when events arrive.
 */
export class Emitter {
  readonly name: string;
  readonly type: string;
  readonly tenant: string | undefined;
  readonly sink: Sink;
  private readonly opts: EmitterOptions;
  private readonly telemetry: ComponentMetrics;
  private state: EmitterState = 'idle';
  private lastError: { message: string; at: string } | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private draining = false;
  private readonly abort = new AbortController();
  private readonly waiters = new Map<number, (r: DeliveryReport) => void>();
  private delivered = 0;
  private deadLettered = 0;
  private paused = false;
  private lastSuccessAt: string | undefined;
  /** When sends started failing (ms since epoch); cleared by a delivery. */
  private failingSince: number | undefined;
  /** Set while suspended: the least time between two attempts. */
  private retryFloorMs = 0;
  /** End the current waits between attempts early (resume, a suspension lifted): one per batch in flight. */
  private readonly interrupts = new Set<() => void>();
  /** A wake nobody waited for yet (an append or a batch ending while the loop was reading): the next wait returns at once. */
  private woken = false;
  /**
   * The window, oldest first: from the oldest batch still being sent to the
   * newest started. Batches done above an unfinished one stay in it, so at
   * most maxInFlight batches are ever unacknowledged past the destination's
   * position (what a crash sends again, and what the journal keeps as done above).
   */
  private flights: Flight[] = [];
  /** Batches whose last attempt failed: no new batch starts until they are through. */
  private readonly failingFlights = new Set<Flight>();
  /** A batch ended with events of it still queued (paused, a storage error): no read above it until every batch has ended. */
  private leftover = false;
  /** What a batch's delivery failed with locally (the dead-letter file, the journal): the loop reports it and backs off. */
  private storageError: unknown;
  private storageFailures = 0;
  private readonly maxInFlight: number;

  constructor(opts: EmitterOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.type = opts.type;
    this.tenant = opts.tenant;
    this.sink = opts.sink;
    this.telemetry = opts.metrics.component('sink', this.name, this.type);
    // A sink keeping order per key gets one batch at a time whatever it was given (config validation refuses more).
    this.maxInFlight = opts.sink.partitionKeyOf ? 1 : (opts.batch.maxInFlight ?? 1);
    opts.metrics.addEmitter({
      name: this.name,
      type: this.type,
      queueDepth: () => opts.queue.depth,
      queueBytes: () => opts.queue.bytes,
      oldestAgeMs: () => opts.queue.oldestAgeMs(),
      state: () => (this.paused ? 'paused' : this.state),
    });
    opts.queue.onDrop = (seqs) => {
      this.telemetry.discarded('dropped_oldest', seqs.length);
      this.notify(seqs, { delivered: false, reason: 'dropped: queue full (whenFull: dropOldest)' });
    };
    opts.queue.onAppend = () => this.signalWake();
    // deliver() hands such a sink the stored bytes and never reads entry.event: the journal need not keep the object for it.
    opts.queue.readsStoredBytes = opts.sink.sendStored !== undefined;
  }

  accepts(event: AuditEvent): boolean {
    return this.opts.accepts(event.type);
  }

  /** Counts events this emitter never got (the router could not queue them for a best-effort emitter). */
  discarded(reason: string, count: number): void {
    this.telemetry.discarded(reason, count);
  }

  /**
   * Durably queues the events for this emitter alone (the router appends
   * once for all emitters); resolves once they are fsync'd. With
   * `trackDelivery`, also returns one promise per event that settles when it
   * was delivered or dead-lettered.
   */
  async enqueue(events: readonly AuditEvent[], trackDelivery = false): Promise<{ seqs: number[]; deliveries: Promise<DeliveryReport>[] }> {
    const payloads = events.map(eventJson);
    const { seqs, refused } = await this.opts.journal.append(events.map((e, i) => ({ eventId: e.id, partitionKey: null, payload: payloads[i]!, event: e, destinations: [this.name] })));
    const error = refused.get(this.name);
    if (error) throw error;
    const taken = seqs as number[];
    this.received(events.length, payloads.reduce((n, p) => n + p.length, 0));
    return { seqs: taken, deliveries: trackDelivery ? this.track(taken) : [] };
  }

  /** Counts events the journal took for this emitter. */
  received(count: number, bytes: number): void {
    this.telemetry.received(count, bytes);
  }

  /**
   * One promise per event, settled when it was delivered or dead-lettered.
   * Called in the turn the append resolved: the journal wakes the delivery
   * loop only in a later one, so no outcome can come before its waiter.
   */
  track(seqs: readonly number[]): Promise<DeliveryReport>[] {
    return seqs.map((seq) => new Promise<DeliveryReport>((resolve) => this.waiters.set(seq, resolve)));
  }

  /** Stops waiting for these (the publisher timed out); delivery itself goes on. */
  forget(seqs: readonly number[]): void {
    for (const s of seqs) this.waiters.delete(s);
  }

  /** Stops delivering; the journal keeps taking this emitter's events up to its cap. */
  pause(): void {
    this.paused = true;
    this.interruptWaits();
  }

  /**
   * Delivers the backlog again, oldest first, and retries at once if it was
   * waiting between attempts. A failing emitter's failing time starts over:
   * resuming is a new chance, not more of the old failure.
   */
  resume(): void {
    this.paused = false;
    if (this.failingSince !== undefined) this.failingSince = Date.now();
    this.signalWake();
    this.interruptWaits();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** How long sends have been failing without a delivery in between; 0 when they are not. */
  failingForMs(now = Date.now()): number {
    return this.failingSince === undefined ? 0 : now - this.failingSince;
  }

  /**
   * At least `ms` between attempts from now on (0 lifts it), for a
   * destination suspended after failing for long: the one waiting now is cut short.
   */
  setRetryFloor(ms: number): void {
    this.retryFloorMs = ms;
    this.interruptWaits();
  }

  /** What a destination's owner needs to see: when it last delivered, since when it fails and why, and its backlog. */
  health(now = Date.now()) {
    const q = this.opts.queue;
    return {
      lastSuccessAt: this.lastSuccessAt ?? null,
      failingSince: this.failingSince === undefined ? null : new Date(this.failingSince).toISOString(),
      lastError: this.failingSince === undefined ? null : (this.lastError?.message ?? null),
      backlog: { events: q.depth, bytes: q.bytes, maxBytes: q.maxBytes, oldestAgeSec: q.oldestAgeMs(now) / 1000 },
      delivered: this.delivered,
      deadLettered: this.deadLettered,
    };
  }

  start(): void {
    this.loop ??= this.run().catch((err) => {
      this.opts.logger.fatal({ emitter: this.name, err: errorMessage(err) }, 'emitter loop crashed');
      this.state = 'stopped';
    });
  }

  /**
   * Delivers what is queued until the queue is empty or `deadline`; then
   * abandons the sends in flight (all of them ended before it resolves). What
   * is left stays queued for the next start.
   */
  async stop(deadline: number): Promise<void> {
    this.draining = true;
    this.signalWake();
    const timer = setTimeout(() => this.abort.abort(), Math.max(0, deadline - Date.now()));
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
      this.abort.abort();
      this.state = 'stopped';
      for (const resolve of this.waiters.values()) resolve({ delivered: false, reason: 'emitter stopped' });
      this.waiters.clear();
    }
  }

  status() {
    const q = this.opts.queue;
    return {
      name: this.name,
      type: this.type,
      enabled: true,
      state: this.state,
      depth: q.depth,
      bytes: q.bytes,
      maxBytes: q.maxBytes,
      oldestEventAgeSec: q.oldestAgeMs() / 1000,
      delivered: this.delivered,
      deadLettered: this.deadLettered,
      inFlight: this.flights.length,
      maxInFlight: this.maxInFlight,
      deadLetterFile: this.opts.deadLetter.file,
      ...(this.opts.corruptQueueMovedTo ? { corruptQueueMovedTo: this.opts.corruptQueueMovedTo } : {}),
      ...(this.sink.status ? { sink: this.sink.status() } : {}),
      lastError: this.lastError ?? null,
    };
  }

  /**
   * Reads batches and starts their delivery, up to maxInFlight at once: the
   * next batch is read above the highest seq in flight. Batches are
   * acknowledged as they finish, in any order; the journal advances the
   * destination's position only over the done prefix.
   */
  private async run(): Promise<void> {
    const { queue, batch, retry } = this.opts;
    const signal = this.abort.signal;
    try {
      while (!signal.aborted) {
        try {
          if (this.storageError !== undefined) {
            const err = this.storageError;
            this.storageError = undefined;
            throw err;
          }
          if (this.paused) {
            // Stopping while paused delivers nothing: the backlog waits for resume, in this run or the next.
            if (this.flights.length === 0 && this.draining) return;
            await this.nextWake();
            continue;
          }
          if (this.flights.length > 0) {
            // The window full, a batch failing (its resend must not fall behind newer ones), or one ended with events left (they go first).
            if (this.flights.length >= this.maxInFlight || this.failingFlights.size > 0 || this.leftover) {
              await this.nextWake();
              continue;
            }
          } else {
            this.leftover = false;
            if (queue.depth === 0) {
              if (this.draining) return;
              this.state = 'idle';
              await this.nextWake();
              continue;
            }
            if (batch.lingerMs > 0 && !this.draining) {
              const age = queue.oldestAgeMs();
              const full = queue.depth >= batch.maxEvents || queue.bytes >= batch.maxBytes;
              if (!full && age < batch.lingerMs) {
                await this.nextWake(batch.lingerMs - age);
                continue;
              }
            }
          }
          this.woken = false;
          const after = this.flights.at(-1)?.lastSeq;
          const entries = await queue.read(batch.maxEvents, batch.maxBytes, after);
          if (after !== undefined) {
            if (entries.length === 0) {
              // Nothing above what is in flight: wait for more, or for a batch to end (draining ends once all have).
              await this.nextWake();
              continue;
            }
            const age = Date.now() - entries[0]!.enqueuedAt;
            if (batch.lingerMs > 0 && !this.draining && entries.length < batch.maxEvents && age < batch.lingerMs) {
              await this.nextWake(batch.lingerMs - age);
              continue;
            }
          }
          if (entries.length > 0) this.launch(entries, signal);
          // A synchronous sink (SQLite) resolves in microtasks only: give timers and I/O a turn
          // between batches, or a backlog would starve HTTP, lease renewals and other emitters.
          await new Promise((resolve) => setImmediate(resolve));
        } catch (err) {
          // Not the sink: the queue or the dead-letter file failed (disk full, I/O error). The
          // events stay queued; keep the loop alive and try again, more slowly each time.
          this.state = 'failing';
          this.lastError = { message: `local storage: ${errorMessage(err)}`, at: new Date().toISOString() };
          this.telemetry.error('storage', 'processing');
          this.opts.logger.error({ emitter: this.name, err: this.lastError.message }, 'emitter storage error; events stay queued, retrying');
          await sleep(backoffDelayMs(this.storageFailures++, retry.initialBackoffMs, retry.maxBackoffMs), signal);
        }
      }
    } finally {
      // Stopped: resolves only once no send is under way.
      await Promise.all(this.flights.map((f) => f.ended));
    }
  }

  /** Starts one batch's delivery; when it ends, the loop is woken to read the next. */
  private launch(entries: JournalEntry[], signal: AbortSignal): void {
    const earlier = this.flights.filter((f) => !f.finished).map((f) => f.ended);
    const flight: Flight = { lastSeq: entries[entries.length - 1]!.seq, ended: Promise.resolve(), finished: false };
    flight.ended = this.deliver(entries, signal, flight, earlier)
      .then(
        (left) => {
          if (left) this.leftover = true;
          else this.storageFailures = 0;
        },
        (err: unknown) => {
          // The dead-letter file or the journal failed under this batch: its events stay queued and are read again.
          this.leftover = true;
          this.storageError = err;
        },
      )
      .finally(() => {
        flight.finished = true;
        while (this.flights[0]?.finished) this.flights.shift();
        this.failingFlights.delete(flight);
        this.signalWake();
      });
    this.flights.push(flight);
  }

  private signalWake(): void {
    this.woken = true;
    this.wake?.();
  }

  private interruptWaits(): void {
    for (const done of [...this.interrupts]) done();
  }

  private nextWake(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        this.wake = undefined;
        this.woken = false;
        resolve();
      };
      const timer = timeoutMs !== undefined ? setTimeout(done, timeoutMs) : undefined;
      this.wake = done;
      if (this.abort.signal.aborted || this.woken) done();
    });
  }

  /** A text about this emitter's sink (its errors), with the sink config's secrets scrubbed when it has any. */
  said(text: string): string {
    return this.opts.scrub ? this.opts.scrub(text) : text;
  }

  /**
   * Sends one batch until every event in it is delivered or dead-lettered (or
   * we stop or pause: then resolves true, events of it still queued). A resend
   * waits for the batches started `earlier` to end, so that a failed batch
   * keeps its place ahead of the later ones whenever it can.
   */
  private async deliver(entries: JournalEntry[], signal: AbortSignal, flight: Flight, earlier: Promise<void>[]): Promise<boolean> {
    const unreadable: QueuedDeadLetter[] = [];
    let pending: InFlight[] = [];
    for (const entry of entries) {
      if (entry.unreadable) {
        unreadable.push({ seq: entry.seq, eventId: entry.eventId, payload: entry.payload, attempts: entry.attempts, reason: entry.unreadable });
        continue;
      }
      try {
        pending.push({ entry, event: this.sink.sendStored ? undefined : (entry.event ?? storedEvent(entry.payload)) });
      } catch (err) {
        unreadable.push({ seq: entry.seq, eventId: entry.eventId, payload: entry.payload, attempts: entry.attempts, reason: `queue entry unreadable: ${errorMessage(err)}` });
      }
    }
    if (unreadable.length > 0) this.deadLetter(unreadable);

    const { retry, metrics, logger } = this.opts;
    let attempt = 0;
    let resend = false;
    // Paused mid-batch: what is left stays queued (reads take the oldest unacknowledged) and goes first on resume.
    while (pending.length > 0 && !signal.aborted && !this.paused) {
      if (resend && earlier.length > 0) {
        await Promise.all(earlier);
        earlier = [];
        continue;
      }
      this.state = attempt === 0 ? 'sending' : this.state;
      let outcomes: DeliveryOutcome[];
      try {
        const sending = this.sink.sendStored
          ? this.sink.sendStored(pending.map((p) => p.entry.payload), signal)
          : this.sink.send(pending.map((p) => p.event!), signal);
        outcomes = await abortable(sending, signal);
        if (outcomes.length !== pending.length) {
          throw new FatalError(`sink returned ${outcomes.length} outcomes for ${pending.length} events`);
        }
      } catch (err) {
        if (signal.aborted) return true;
        resend = true;
        this.failingFlights.add(flight);
        pending = ownBytes(pending);
        const fatal = !(err instanceof RetriableError);
        this.lastError = { message: this.said(errorMessage(err)), at: new Date().toISOString() };
        this.failingSince ??= Date.now();
        this.state = fatal ? 'failing' : 'retrying';
        this.telemetry.error(fatal ? 'fatal' : 'retriable', 'sending');
        this.opts.queue.recordAttempt(pending.map((p) => p.entry.seq));
        if (isProgrammingError(err)) logger.error({ emitter: this.name, err: this.lastError.message, stack: this.said((err as Error).stack ?? '') }, 'sink failed with a programming error; events stay queued');
        else logger.warn({ emitter: this.name, err: this.lastError.message, attempt, state: this.state }, 'send failed; events stay queued');
        // Fatal (misconfigured destination): keep the events and retry at the longest backoff, so fixing it resumes delivery.
        const delay = fatal
          ? retry.maxBackoffMs
          : backoffDelayMs(attempt++, retry.initialBackoffMs, retry.maxBackoffMs, (err as RetriableError).retryAfterMs);
        await this.backoff(delay);
        continue;
      }
      const done: number[] = [];
      let doneBytes = 0;
      const rejected: QueuedDeadLetter[] = [];
      const again: InFlight[] = [];
      let firstRetryReason = '';
      outcomes.forEach((o, i) => {
        const p = pending[i]!;
        if (o.status === 'delivered') {
          done.push(p.entry.seq);
          doneBytes += p.entry.payload.length;
        }
        else if (o.status === 'rejected') rejected.push({ seq: p.entry.seq, eventId: p.entry.eventId, payload: p.entry.payload, attempts: p.entry.attempts + attempt + 1, reason: this.said(o.reason) });
        else {
          again.push(p);
          firstRetryReason ||= this.said(o.reason);
        }
      });
      this.opts.queue.ack(done);
      this.notify(done, { delivered: true });
      this.delivered += done.length;
      if (done.length > 0) {
        this.lastSuccessAt = new Date().toISOString();
        this.failingSince = undefined;
      }
      this.telemetry.sent(done.length, doneBytes);
      if (rejected.length > 0) this.deadLetter(rejected);
      pending = ownBytes(again);
      if (again.length > 0) {
        resend = true;
        this.failingFlights.add(flight);
        this.state = 'retrying';
        this.lastError = { message: firstRetryReason, at: new Date().toISOString() };
        if (done.length === 0) this.failingSince ??= Date.now();
        metrics.retries.inc({ component_id: this.name }, again.length);
        this.opts.queue.recordAttempt(again.map((p) => p.entry.seq));
        await this.backoff(backoffDelayMs(attempt++, retry.initialBackoffMs, retry.maxBackoffMs));
      } else if (this.state !== 'sending') {
        this.state = 'sending';
      }
    }
    return pending.length > 0;
  }

  /** The wait between two attempts: ends early when stopping, pausing, resuming or when the retry floor changes. */
  private backoff(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.interrupts.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(ms, this.retryFloorMs));
      signal.addEventListener('abort', done, { once: true });
      this.interrupts.add(done);
      if (signal.aborted) done();
    });
  }

  private deadLetter(items: QueuedDeadLetter[]): void {
    this.opts.deadLetter.write(items);
    this.opts.queue.ack(items.map((d) => d.seq));
    this.deadLettered += items.length;
    this.telemetry.discarded('dead_letter', items.length);
    this.opts.logger.error({ emitter: this.name, count: items.length, reason: items[0]?.reason, file: this.opts.deadLetter.file }, 'events dead-lettered');
    for (const d of items) this.notify([d.seq], { delivered: false, reason: d.reason });
  }

  private notify(seqs: readonly number[], report: DeliveryReport): void {
    for (const seq of seqs) {
      const resolve = this.waiters.get(seq);
      if (resolve) {
        this.waiters.delete(seq);
        resolve(report);
      }
    }
  }
}
