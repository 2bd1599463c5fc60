/**
 * The journal: every accepted event written once, durably, with the set of
 * destinations that take it; each destination reads and acknowledges its own
 * events from it. One interface so that a shared (PostgreSQL, several nodes)
 * backend can be added beside the embedded one (src/queue/embedded-journal.ts).
 */

import type { AuditEvent } from '../core/event.js';

/** One event to append, with the destinations it is routed to. */
export interface JournalAppend {
  eventId: string;
  /** Reserved for keyed parallel delivery; sinks derive their own keys from the event today. */
  partitionKey: string | null;
  /** The event's JSON bytes, exactly as json-codec sinks send them. */
  payload: Buffer;
  /**
   * The event `payload` was made from, when the appender has it: kept in the
   * entry cache so that destinations reading the entry soon after get this
   * object instead of parsing the bytes again. It must not change afterwards.
   */
  event?: AuditEvent;
  destinations: readonly string[];
}

export interface AppendOptions {
  /**
   * Take the events whatever the destinations' caps, and for destinations not
   * registered (yet): for events acknowledged before, such as an older
   * release's queues being moved into the journal.
   */
  ignoreCaps?: boolean;
}

export interface AppendOutcome {
  /** Per event: its sequence number, or undefined when no destination took it (all refused). */
  seqs: (number | undefined)[];
  /** Destinations that refused this whole append (full under `whenFull: block`), with the error to report. */
  refused: ReadonlyMap<string, Error>;
}

/** A stored event as a destination reads it. */
export interface JournalEntry {
  seq: number;
  eventId: string;
  partitionKey: string | null;
  enqueuedAt: number;
  /** Failed sends of this entry since the process started. */
  attempts: number;
  payload: Buffer;
  /**
   * The appended event itself (JournalAppend.event), while the journal still
   * holds it in memory and a destination taking it reads objects (see
   * DestinationQueue.readsStoredBytes); shared, never to be changed.
   */
  event?: AuditEvent;
  /** Set when the stored bytes failed their checksum: the entry can only be dead-lettered. */
  unreadable?: string;
}

export interface DestinationOptions {
  /** Cap on this destination's backlog (payload bytes). */
  maxBytes: number;
  whenFull: 'block' | 'dropOldest';
}

/** One destination's view of the journal: its backlog, in order. */
export interface DestinationQueue {
  readonly id: string;
  readonly depth: number;
  readonly bytes: number;
  readonly maxBytes: number;
  oldestAgeMs(now?: number): number;
  /**
   * Up to `maxEvents` of the oldest undelivered entries, stopping before
   * `maxBytes` (at least one). With `afterSeq`, only entries above it: the
   * next batch while the ones up to `afterSeq` are still being sent.
   */
  read(maxEvents: number, maxBytes: number, afterSeq?: number): Promise<JournalEntry[]>;
  /**
   * These entries are done (delivered or dead-lettered): they are never read
   * again. Any order: the destination's durable position advances only over
   * the contiguous done prefix (acked through), entries done above a gap are
   * remembered (done above) and the position moves past them once the gap is
   * filled. A restart delivers again every entry not done.
   */
  ack(seqs: readonly number[]): void;
  recordAttempt(seqs: readonly number[]): void;
  /**
   * Set by this destination's reader when its sink takes each entry's stored
   * bytes and never the event object (Sink.sendStored); false until then.
   * A journal then need not keep the appended object (JournalAppend.event) of
   * an entry that only such destinations take; one that never keeps objects
   * ignores it.
   */
  readsStoredBytes: boolean;
  /** Called (outside the append's own turn) when entries were appended for this destination. */
  onAppend: (() => void) | undefined;
  /** Told the sequence numbers `whenFull: dropOldest` removed, so their waiters can be answered. */
  onDrop: ((seqs: number[]) => void) | undefined;
}

export interface Journal {
  /** Resolves once every taken event is on disk (fsync'd). Rejects when nothing could be written. */
  append(items: readonly JournalAppend[], opts?: AppendOptions): Promise<AppendOutcome>;
  /** Registers a destination (or gives it its options, if recovery found its backlog). */
  addDestination(id: string, opts: DestinationOptions): DestinationQueue;
  /** Forgets a destination and its backlog: its events are released, never delivered. */
  removeDestination(id: string): void;
  /** Destinations with a backlog in the journal that nobody registered. */
  unclaimed(): string[];
  /** Files moved aside at start because they were unreadable. */
  readonly movedAside: readonly string[];
  close(): Promise<void>;
}
