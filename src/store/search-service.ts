import { AuditstreamError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import type { AuditStore, SearchOptions, SearchPage, SearchQuery } from './audit-store.js';

/**
 * Who is reading. Empty today: every read sees the whole store. The tenants
 * API will add the tenant here and the service will filter by it, so callers
 * already pass a scope and no route reads around it.
 */
export interface ReadScope {}

export type SearchServiceOptions = SearchOptions & ReadScope;

/** Search was asked for, but no enabled audit-store emitter is configured. */
export class NoAuditStoreError extends AuditstreamError {
  readonly code = 'NO_AUDIT_STORE';
  readonly retriable = false;
  constructor() {
    super('no enabled audit-store emitter is configured, so there is nothing to search');
  }
}

/**
 * Reads the audit store for the HTTP API (and later the tenants API and a
 * console). It holds the store the audit-store emitter writes to, the same
 * instance and connection pool, so a search sees every event that emitter
 * has delivered. A store that is down throws RetriableError (the API answers
 * 503); without a store every read throws NoAuditStoreError.
 */
export class SearchService {
  private constructor(
    private readonly store: AuditStore | undefined,
    /** The emitter whose store answers, for messages and logs. */
    readonly emitter: string | undefined,
  ) {}

  static of(emitter: string, store: AuditStore): SearchService {
    return new SearchService(store, emitter);
  }

  static none(): SearchService {
    return new SearchService(undefined, undefined);
  }

  get available(): boolean {
    return this.store !== undefined;
  }

  search(query: SearchQuery, options: SearchServiceOptions = {}): Promise<SearchPage> {
    return this.reader().search(query, options);
  }

  get(id: string, source?: string, _scope: ReadScope = {}): Promise<AuditEvent | undefined> {
    return this.reader().get(id, source);
  }

  /** Events stored. */
  count(_scope: ReadScope = {}): Promise<number> {
    return this.reader().count();
  }

  private reader(): AuditStore {
    if (!this.store) throw new NoAuditStoreError();
    return this.store;
  }
}
