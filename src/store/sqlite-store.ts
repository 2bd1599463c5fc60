import type Database from 'better-sqlite3';
import { FatalError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import { AMBIGUOUS_LISTED, onlyEvent } from './ambiguous-id-error.js';
import type { AuditStore, InsertResult, SearchOptions, SearchPage, SearchQuery } from './audit-store.js';
import { fromRow, type EventRow } from './event-row.js';
import { fillPage, planSearch } from './search-plan.js';
import { classifySqliteError } from './sqlite-errors.js';
import { COLUMNS, openSqlite } from './sqlite-schema.js';
import { searchStatement } from './sqlite-search.js';
import { SqliteWriter } from './sqlite-writer.js';

export interface SqliteStoreOptions {
  /** The database file; its directory is created when missing. */
  path: string;
  /**
   * How long a write waits for another connection's lock before SQLITE_BUSY
   * (then RetriableError). Several emitters or processes may share one file.
   */
  busyTimeoutMs?: number;
}

interface Reader {
  db: Database.Database;
  getById: Database.Statement;
  getByIdentity: Database.Statement;
  countAll: Database.Statement;
  searches: Map<string, Database.Statement>;
}

/**
 * The audit store in one SQLite file (WAL, so searches never block the
 * writer). Inserts and migrations run in a writer thread (sqlite-writer.ts),
 * reads on a connection of this thread. Opened on first use so that a broken
 * path surfaces as a delivery error of the emitter, not a crash at start-up.
 */
export class SqliteAuditStore implements AuditStore {
  readonly location: string;
  private readonly writer: SqliteWriter;
  private readonly inserting = new Set<Promise<number>>();
  private reader: Reader | undefined;
  private closed = false;

  constructor(private readonly options: SqliteStoreOptions) {
    this.location = `sqlite:${options.path}`;
    this.writer = new SqliteWriter({ path: options.path, busyTimeoutMs: options.busyTimeoutMs, location: this.location });
  }

  insert(events: readonly AuditEvent[]): Promise<InsertResult> {
    return this.inserted(events.length, () => this.writer.insert(events));
  }

  /** The writer thread parses the bytes and makes the rows: this thread only copies them once. */
  insertJson(payloads: readonly Buffer[]): Promise<InsertResult> {
    return this.inserted(payloads.length, () => this.writer.insertJson(payloads));
  }

  private async inserted(count: number, write: () => Promise<number>): Promise<InsertResult> {
    if (count === 0) return { inserted: 0, duplicates: 0 };
    if (this.closed) throw this.closedError();
    const insert = write();
    this.inserting.add(insert);
    try {
      const inserted = await insert;
      return { inserted, duplicates: count - inserted };
    } finally {
      this.inserting.delete(insert);
    }
  }

  async search(query: SearchQuery, options?: SearchOptions): Promise<SearchPage> {
    const plan = planSearch(query, options);
    const { sql, params } = searchStatement(plan);
    return this.read((opened) => {
      let statement = opened.searches.get(sql);
      if (!statement) {
        statement = opened.db.prepare(sql);
        opened.searches.set(sql, statement);
      }
      // Rows are read one at a time and only while the page has room: large events never pile up in memory.
      type Row = Omit<EventRow, 'timeMs'> & { time_ms: number };
      return fillPage(statement.iterate(...params) as IterableIterator<Row>, plan, (row) => ({
        event: fromRow(row),
        position: { timeMs: row.time_ms, id: row.id, source: row.source },
      }));
    });
  }

  async get(id: string, source?: string, tenant?: string): Promise<AuditEvent | undefined> {
    return this.read(({ getById, getByIdentity }) => {
      const t = tenant ?? null;
      const rows = (source === undefined ? getById.all(id, t, t) : getByIdentity.all(id, source, t, t)) as Omit<EventRow, 'timeMs'>[];
      return onlyEvent(id, rows.map(fromRow));
    });
  }

  async count(): Promise<number> {
    return this.read(({ countAll }) => (countAll.get() as { n: number }).n);
  }

  async ping(): Promise<void> {
    await this.read(({ db }) => db.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Their transactions commit before the thread ends; the emitter counts on each answer.
    await Promise.allSettled([...this.inserting]);
    await this.writer.close();
    this.reader?.db.close();
    this.reader = undefined;
  }

  /** Reads run here: WAL lets them proceed while the writer thread commits. */
  private async read<T>(work: (reader: Reader) => T): Promise<T> {
    if (this.closed) throw this.closedError();
    // The writer thread creates the file and its tables; reading before that would find none.
    if (!this.reader) {
      await this.writer.ready();
      if (this.closed) throw this.closedError();
    }
    try {
      this.reader ??= this.openReader();
      return work(this.reader);
    } catch (err) {
      throw classifySqliteError(err, this.location);
    }
  }

  private openReader(): Reader {
    const db = openSqlite(this.options.path, this.options.busyTimeoutMs, 'reader');
    return {
      db,
      // A tenant's reader neither sees another tenant's event nor learns from an ambiguity that one exists.
      getById: db.prepare(`SELECT ${COLUMNS} FROM audit_events WHERE id = ? AND (? IS NULL OR tenant = ?) ORDER BY source LIMIT ${AMBIGUOUS_LISTED}`),
      getByIdentity: db.prepare(`SELECT ${COLUMNS} FROM audit_events WHERE id = ? AND source = ? AND (? IS NULL OR tenant = ?)`),
      countAll: db.prepare('SELECT count(*) AS n FROM audit_events'),
      searches: new Map(),
    };
  }

  private closedError(): FatalError {
    return new FatalError(`audit store ${this.location} is closed`, { code: 'STORE_CLOSED' });
  }
}
