import { AuditstreamError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import type { AuditStore, SearchOptions, SearchPage, SearchQuery } from './audit-store.js';

/**
 * Who is reading: with `tenant`, only that tenant's events exist for the
 * reader. The filter is part of the store's query, so limits and cursors count
 * only what the reader may see.
 */
export interface ReadScope {
  tenant?: string | undefined;
}

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
    const { tenant, ...storeOptions } = options;
    return this.reader().search(tenant === undefined ? query : { ...query, tenant }, storeOptions);
  }

  get(id: string, source?: string, scope: ReadScope = {}): Promise<AuditEvent | undefined> {
    return this.reader().get(id, source, scope.tenant);
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
