import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AuditstreamError, FatalError, InvalidEventError, RetriableError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import type { AuditStore, InsertResult, SearchPage, SearchQuery } from './audit-store.js';
import { encodeCursor } from './cursor.js';
import { fromRow, toRow, type EventRow } from './event-row.js';
import { likePattern, planSearch } from './search-plan.js';

export interface SqliteStoreOptions {
  /** The database file; its directory is created when missing. */
  path: string;
  /**
   * How long a write waits for another connection's lock before SQLITE_BUSY
   * (then RetriableError). Several emitters or processes may share one file.
   */
  busyTimeoutMs?: number;
}

interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Append only: a released migration is never edited, a change is a new version. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'audit_events table and search indexes',
    sql: `
      CREATE TABLE audit_events (
        id          TEXT PRIMARY KEY,
        time        TEXT NOT NULL,
        time_ms     INTEGER NOT NULL,
        type        TEXT NOT NULL,
        source      TEXT NOT NULL,
        service     TEXT,
        outcome     TEXT NOT NULL,
        actor       TEXT,
        client_ip   TEXT,
        session_id  TEXT,
        tenant      TEXT,
        message     TEXT,
        details     TEXT NOT NULL,
        origin      TEXT,
        raw         TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE INDEX audit_events_time ON audit_events (time_ms DESC, id DESC);
      CREATE INDEX audit_events_type_time ON audit_events (type, time_ms DESC, id DESC);
      CREATE INDEX audit_events_actor_time ON audit_events (actor, time_ms DESC, id DESC);
      CREATE INDEX audit_events_session_time ON audit_events (session_id, time_ms DESC, id DESC);
    `,
  },
];

const COLUMNS = 'id, time, type, source, service, outcome, actor, client_ip, session_id, tenant, message, details, origin, raw';

interface Opened {
  db: Database.Database;
  insertBatch: (rows: EventRow[], receivedAt: string) => number;
  getById: Database.Statement;
  countAll: Database.Statement;
  searches: Map<string, Database.Statement>;
}

/**
 * The audit store in one SQLite file (WAL, so searches never block the
 * writer). Opened on first use so that a broken path surfaces as a delivery
 * error of the emitter, not a crash at start-up.
 */
export class SqliteAuditStore implements AuditStore {
  readonly location: string;
  private opened: Opened | undefined;
  private closed = false;

  constructor(private readonly options: SqliteStoreOptions) {
    this.location = `sqlite:${options.path}`;
  }

  async insert(events: readonly AuditEvent[]): Promise<InsertResult> {
    if (events.length === 0) return { inserted: 0, duplicates: 0 };
    const rows = events.map(toRow);
    return this.run(({ insertBatch }) => {
      const inserted = insertBatch(rows, new Date().toISOString());
      return { inserted, duplicates: rows.length - inserted };
    });
  }

  async search(query: SearchQuery): Promise<SearchPage> {
    const plan = planSearch(query);
    const where: string[] = [];
    const params: (string | number)[] = [];
    for (const { column, value } of plan.equals) {
      where.push(`${column} = ?`);
      params.push(value);
    }
    if (plan.fromMs !== undefined) {
      where.push('time_ms >= ?');
      params.push(plan.fromMs);
    }
    if (plan.toMs !== undefined) {
      where.push('time_ms < ?');
      params.push(plan.toMs);
    }
    if (plan.after) {
      where.push('(time_ms, id) < (?, ?)');
      params.push(plan.after.timeMs, plan.after.id);
    }
    if (plan.text !== undefined) {
      // SQLite's LIKE ignores ASCII case, matching PostgreSQL's ILIKE for the common case.
      where.push(`message LIKE ? ESCAPE '\\'`);
      params.push(likePattern(plan.text));
    }
    const sql =
      `SELECT ${COLUMNS}, time_ms FROM audit_events` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY time_ms DESC, id DESC LIMIT ?';
    // One row more than asked tells whether another page exists without a count.
    params.push(plan.limit + 1);
    return this.run((opened) => {
      let statement = opened.searches.get(sql);
      if (!statement) {
        statement = opened.db.prepare(sql);
        opened.searches.set(sql, statement);
      }
      const rows = statement.all(...params) as (Omit<EventRow, 'timeMs'> & { time_ms: number })[];
      const page = rows.slice(0, plan.limit);
      const last = page[page.length - 1];
      const result: SearchPage = { events: page.map(fromRow) };
      if (rows.length > plan.limit && last) result.nextCursor = encodeCursor({ timeMs: last.time_ms, id: last.id });
      return result;
    });
  }

  async get(id: string): Promise<AuditEvent | undefined> {
    return this.run(({ getById }) => {
      const row = getById.get(id) as Omit<EventRow, 'timeMs'> | undefined;
      return row ? fromRow(row) : undefined;
    });
  }

  async count(): Promise<number> {
    return this.run(({ countAll }) => (countAll.get() as { n: number }).n);
  }

  async ping(): Promise<void> {
    this.run(({ db }) => db.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opened?.db.close();
    this.opened = undefined;
  }

  private run<T>(work: (opened: Opened) => T): T {
    if (this.closed) throw new FatalError(`audit store ${this.location} is closed`, { code: 'STORE_CLOSED' });
    try {
      this.opened ??= this.open();
      return work(this.opened);
    } catch (err) {
      throw classifySqliteError(err, this.location);
    }
  }

  private open(): Opened {
    mkdirSync(dirname(this.options.path), { recursive: true });
    const db = new Database(this.options.path);
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(this.options.busyTimeoutMs ?? 5000))}`);
      db.pragma('journal_mode = WAL');
      // An event leaves the emitter's queue once stored: the commit must survive power loss.
      db.pragma('synchronous = FULL');
      migrate(db, this.location);
      const insertOne = db.prepare(
        `INSERT INTO audit_events (${COLUMNS}, time_ms, received_at)
         VALUES (@id, @time, @type, @source, @service, @outcome, @actor, @client_ip, @session_id, @tenant, @message, @details, @origin, @raw, @timeMs, @receivedAt)
         ON CONFLICT (id) DO NOTHING`,
      );
      const insertBatch = db.transaction((rows: EventRow[], receivedAt: string) => {
        let inserted = 0;
        for (const row of rows) inserted += insertOne.run({ ...row, receivedAt }).changes;
        return inserted;
      });
      return {
        db,
        insertBatch: (rows, receivedAt) => insertBatch.immediate(rows, receivedAt),
        getById: db.prepare(`SELECT ${COLUMNS} FROM audit_events WHERE id = ?`),
        countAll: db.prepare('SELECT count(*) AS n FROM audit_events'),
        searches: new Map(),
      };
    } catch (err) {
      db.close();
      throw err;
    }
  }
}

/**
 * Applies pending migrations in one IMMEDIATE transaction: the write lock is
 * taken before reading the version, so two processes opening the same file
 * cannot both apply a migration.
 */
function migrate(db: Database.Database, location: string): void {
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const current = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (current > latest) {
      throw new FatalError(
        `audit store ${location} has schema version ${current}, newer than this auditstream knows (${latest}); upgrade auditstream`,
        { code: 'STORE_SCHEMA_NEWER' },
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      record.run(m.version, m.description, new Date().toISOString());
    }
  }).immediate();
}

/** Result codes that clear up by themselves: locks held by another writer, a full or flaky disk. */
const RETRIABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|PROTOCOL|INTERRUPT)/;
/** Result codes caused by one row's content. */
const ROW_CODES = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/;

function classifySqliteError(err: unknown, location: string): unknown {
  if (err instanceof AuditstreamError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return err;
  if (code.startsWith('SQLITE_')) {
    if (RETRIABLE_CODES.test(code)) return new RetriableError(`audit store ${location}: ${err.message}`, { cause: err, code });
    if (ROW_CODES.test(code)) return new InvalidEventError(`audit store ${location}: ${err.message}`, { cause: err });
    return new FatalError(`audit store ${location}: ${err.message}`, { cause: err, code });
  }
  if (code.startsWith('E')) {
    // Filesystem errors from creating the directory or opening the file (EACCES, ENOSPC …).
    const transient = code === 'ENOSPC' || code === 'EAGAIN' || code === 'EMFILE' || code === 'ENFILE' || code === 'EIO';
    return transient
      ? new RetriableError(`audit store ${location}: ${err.message}`, { cause: err, code })
      : new FatalError(`audit store ${location}: ${err.message}`, { cause: err, code });
  }
  return err;
}
