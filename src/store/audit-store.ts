import type { AuditEvent } from '../core/event.js';

export interface InsertResult {
  /** Events newly stored. */
  inserted: number;
  /** Events whose identity (id and source) was already stored (a replay), or repeated inside the batch. */
  duplicates: number;
}

/**
 * Search filters as the HTTP API receives them. Every filter is optional and
 * an empty string counts as absent, so a form with empty fields still works.
 */
export interface SearchQuery {
  type?: string;
  actor?: string;
  outcome?: string;
  source?: string;
  sessionId?: string;
  clientIp?: string;
  /** The tenant events belong to; a tenant key's searches always carry its own. */
  tenant?: string;
  /** Inclusive lower bound: ISO 8601, or epoch seconds / milliseconds. */
  from?: string;
  /** Exclusive upper bound, same notations as `from`. */
  to?: string;
  /** Case-insensitive substring of `message`. */
  q?: string;
  /** Page size, 1 … 1000, default 100. A string is accepted (query strings). */
  limit?: number | string;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface SearchOptions {
  /**
   * Bytes the page may take as JSON (`{"events":[…],"nextCursor":"…"}`); the
   * page stops before the event that would pass it, except that it always holds
   * one. Default 8 MiB (server.limits.maxResponseBytes).
   */
  maxBytes?: number;
}

export interface SearchPage {
  /** Newest first: time descending, then id descending. */
  events: AuditEvent[];
  /** Present when more events match (beyond `limit` or the byte cap); pass it back as `cursor` for the next page. */
  nextCursor?: string;
}

/**
 * Where audit events are kept for search (Blitz Identity Provider's "audit-store"
 * receiver). An event's identity is its id within its source (the producer:
 * foxpass, blitz …): inserts are idempotent on (id, source), so at-least-once
 * replays leave each event stored once, while two producers that both use
 * id 42 keep both events.
 *
 * Errors: RetriableError when the database is unreachable or busy,
 * FatalError when it is unusable as configured (missing database, bad
 * credentials, newer schema), InvalidEventError when an event's content is
 * refused: nothing of the batch is stored, and the error's `index` is that
 * event's place in the batch when the store knows it (SQLite always does;
 * PostgreSQL does for what it checks before sending, not for a value the
 * server refuses), QueryError for a bad search parameter.
 */
export interface AuditStore {
  /** Where the store is, for messages; passwords are redacted. */
  readonly location: string;
  insert(events: readonly AuditEvent[]): Promise<InsertResult>;
  /**
   * Like insert, for events given as their JSON exactly as the journal
   * stored them; bytes that are not an event throw InvalidEventError. Present
   * where parsing elsewhere saves the caller's thread the work (SQLite).
   */
  insertJson?(payloads: readonly Buffer[]): Promise<InsertResult>;
  search(query: SearchQuery, options?: SearchOptions): Promise<SearchPage>;
  /**
   * The event with this id, or with this id from this source. Throws
   * AmbiguousEventIdError when `source` is absent and several sources stored the id.
   * With `tenant`, only that tenant's events are seen.
   */
  get(id: string, source?: string, tenant?: string): Promise<AuditEvent | undefined>;
  count(): Promise<number>;
  /** Connects, applies pending schema migrations and runs a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
