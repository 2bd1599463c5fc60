import Database from 'better-sqlite3';
import { FatalError } from '../core/errors.js';
import { preparePrivateDatabase } from '../core/private-files.js';

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
  {
    version: 2,
    description: 'identity is (id, source): producers with the same id no longer collide',
    // SQLite cannot drop a PRIMARY KEY, so the table is copied into one without it. The identity is a
    // unique index so that a tenant column can join it later by replacing the index, not the table.
    // The search indexes end in source, the order's last tie-breaker, so a page never needs a sort.
    sql: `
      CREATE TABLE audit_events_v2 (
        id          TEXT NOT NULL,
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
      INSERT INTO audit_events_v2 SELECT * FROM audit_events ORDER BY rowid;
      DROP TABLE audit_events;
      ALTER TABLE audit_events_v2 RENAME TO audit_events;
      CREATE UNIQUE INDEX audit_events_identity ON audit_events (id, source);
      CREATE INDEX audit_events_time ON audit_events (time_ms DESC, id DESC, source DESC);
      CREATE INDEX audit_events_type_time ON audit_events (type, time_ms DESC, id DESC, source DESC);
      CREATE INDEX audit_events_actor_time ON audit_events (actor, time_ms DESC, id DESC, source DESC);
      CREATE INDEX audit_events_session_time ON audit_events (session_id, time_ms DESC, id DESC, source DESC);
    `,
  },
  {
    version: 3,
    description: 'tenant search index',
    // Every search by a tenant key filters on tenant: without this index a small tenant's page would scan
    // the whole store's time index for its few rows.
    sql: `CREATE INDEX audit_events_tenant_time ON audit_events (tenant, time_ms DESC, id DESC, source DESC);`,
  },
  {
    version: 4,
    description: 'search indexes ascending: new events append at their end',
    // Events arrive in time order. In a DESC index the newest entry goes first, at the left edge of the
    // tree (or of its type's, tenant's, session's range), where SQLite splits full pages in half and
    // rebalances them with their neighbours; ascending, it goes last, where SQLite starts a new page and
    // leaves the full one full. Searches walk these indexes backwards for the same newest-first order,
    // without a sort. Names and creation order are kept: the plans depend on neither's change.
    sql: `
      DROP INDEX audit_events_time;
      DROP INDEX audit_events_type_time;
      DROP INDEX audit_events_actor_time;
      DROP INDEX audit_events_session_time;
      DROP INDEX audit_events_tenant_time;
      CREATE INDEX audit_events_time ON audit_events (time_ms, id, source);
      CREATE INDEX audit_events_type_time ON audit_events (type, time_ms, id, source);
      CREATE INDEX audit_events_actor_time ON audit_events (actor, time_ms, id, source);
      CREATE INDEX audit_events_session_time ON audit_events (session_id, time_ms, id, source);
      CREATE INDEX audit_events_tenant_time ON audit_events (tenant, time_ms, id, source);
    `,
  },
];

/** The columns an event is stored in and read back from, in EventRow's names. */
export const COLUMNS = 'id, time, type, source, service, outcome, actor, client_ip, session_id, tenant, message, details, origin, raw';

/**
 * Opens the file with the settings every connection needs. The writer also
 * sets WAL (persistent in the file) and FULL sync; readers only read.
 */
export function openSqlite(path: string, busyTimeoutMs: number | undefined, role: 'writer' | 'reader'): Database.Database {
  if (role === 'writer') preparePrivateDatabase(path);
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs ?? 5000))}`);
    if (role === 'writer') {
      db.pragma('journal_mode = WAL');
      // An event leaves the emitter's queue once stored: the commit must survive power loss.
      db.pragma('synchronous = FULL');
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Applies pending migrations in one IMMEDIATE transaction: the write lock is
 * taken before reading the version, so two processes opening the same file
 * cannot both apply a migration.
 */
export function migrate(db: Database.Database, location: string): void {
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
