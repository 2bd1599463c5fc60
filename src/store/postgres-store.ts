import type pg from 'pg';
import type { Logger } from 'pino';
import { AuditstreamError, FatalError, InvalidEventError, RetriableError, errorMessage } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import { applyPostgresMigrations, type PostgresMigration } from './postgres-migrations.js';
import { AMBIGUOUS_LISTED, onlyEvent } from './ambiguous-id-error.js';
import type { AuditStore, InsertResult, SearchOptions, SearchPage, SearchQuery } from './audit-store.js';
import { fromRow, ROW_COLUMNS, writeFlatRows, type EventRow, type FlatRows } from './event-row.js';
import { fillPage, likePattern, planSearch } from './search-plan.js';

export interface PostgresStoreOptions {
  /** postgres:// or postgresql:// connection URL. */
  url: string;
  /** Connections kept at most. */
  poolSize?: number;
  logger?: Logger;
  connectTimeoutMs?: number;
}

/** Append only: a released migration is never edited, a change is a new version. */
const MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'audit_events table and search indexes',
    // ids compare bytewise (COLLATE "C"): cheaper than a linguistic collation, and the same order everywhere.
    sql: `
      CREATE TABLE audit_events (
        id          text COLLATE "C" PRIMARY KEY,
        time        timestamptz NOT NULL,
        type        text NOT NULL,
        source      text NOT NULL,
        service     text,
        outcome     text NOT NULL,
        actor       text,
        client_ip   text,
        session_id  text,
        tenant      text,
        message     text,
        details     jsonb NOT NULL,
        origin      jsonb,
        raw         text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX audit_events_time ON audit_events (time DESC, id DESC);
      CREATE INDEX audit_events_type_time ON audit_events (type, time DESC, id DESC);
      CREATE INDEX audit_events_actor_time ON audit_events (actor, time DESC, id DESC);
      CREATE INDEX audit_events_session_time ON audit_events (session_id, time DESC, id DESC);
    `,
  },
  {
    version: 2,
    description: 'identity is (id, source): producers with the same id no longer collide',
    // The identity is a unique index, not the primary key, so that a tenant column can join it later by
    // replacing the index. The search indexes end in source, the order's last tie-breaker. source compares
    // bytewise like id: the order and the cursor then mean the same thing on every server.
    sql: `
      ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
      ALTER TABLE audit_events ALTER COLUMN source TYPE text COLLATE "C";
      CREATE UNIQUE INDEX audit_events_identity ON audit_events (id, source);
      DROP INDEX audit_events_time, audit_events_type_time, audit_events_actor_time, audit_events_session_time;
      CREATE INDEX audit_events_time ON audit_events (time DESC, id DESC, source DESC);
      CREATE INDEX audit_events_type_time ON audit_events (type, time DESC, id DESC, source DESC);
      CREATE INDEX audit_events_actor_time ON audit_events (actor, time DESC, id DESC, source DESC);
      CREATE INDEX audit_events_session_time ON audit_events (session_id, time DESC, id DESC, source DESC);
    `,
  },
  {
    version: 3,
    description: 'tenant search index',
    // Every search by a tenant key filters on tenant: without this index a small tenant's page would scan
    // the whole store's time index for its few rows.
    sql: `CREATE INDEX audit_events_tenant_time ON audit_events (tenant, time DESC, id DESC, source DESC);`,
  },
];

/** Rows per INSERT: arrays travel as 14 parameters whatever the count, so this only bounds statement size. */
const INSERT_CHUNK = 1000;

const INSERT_SQL = `
  INSERT INTO audit_events (id, time, type, source, service, outcome, actor, client_ip, session_id, tenant, message, details, origin, raw)
  SELECT id, time, type, source, service, outcome, actor, client_ip, session_id, tenant, message, details::jsonb, origin::jsonb, raw
  FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
    AS u(id, time, type, source, service, outcome, actor, client_ip, session_id, tenant, message, details, origin, raw)
  ON CONFLICT (id, source) DO NOTHING`;

// jsonb goes out as text so both backends share one row decoder (and jsonb's own parse is skipped).
const SELECT_COLUMNS =
  'id, time, type, source, service, outcome, actor, client_ip, session_id, tenant, message, details::text AS details, origin::text AS origin, raw';

interface SelectedRow extends Omit<EventRow, 'timeMs' | 'time'> {
  time: Date;
}

/**
 * About what a row takes as JSON, computed by the server from the stored
 * values: enough to leave rows that cannot fit a page in the database (the
 * exact size is measured on the rows fetched).
 */
const ROW_BYTES = `octet_length(id) + octet_length(type) + octet_length(source) + octet_length(outcome) + octet_length(raw)
  + octet_length(details::text) + coalesce(octet_length(origin::text), 0) + coalesce(octet_length(service), 0)
  + coalesce(octet_length(actor), 0) + coalesce(octet_length(client_ip), 0) + coalesce(octet_length(session_id), 0)
  + coalesce(octet_length(tenant), 0) + coalesce(octet_length(message), 0)`;

/**
 * The audit store in PostgreSQL. The pool connects on first use and the
 * schema is migrated then, so a database that is down at start-up only
 * delays delivery (RetriableError) instead of failing the process.
 */
export class PostgresAuditStore implements AuditStore {
  readonly location: string;
  /** Made on first use, when pg is loaded: a process whose store is SQLite never loads the driver. */
  private pool: Promise<pg.Pool> | undefined;
  private ready: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: PostgresStoreOptions) {
    this.location = redactUrl(options.url);
  }

  private poolOf(): Promise<pg.Pool> {
    this.pool ??= import('pg').then(({ default: driver }) => {
      const { options } = this;
      const pool = new driver.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
        // A connection that silently died must not hang delivery forever.
        query_timeout: 60_000,
        keepAlive: true,
      });
      // An idle connection dropped by the server emits 'error' on the pool; unhandled it would crash the process.
      // Logged as text: the error object drags the whole pg client (and its connection parameters) along.
      pool.on('error', (err) => options.logger?.warn({ store: this.location, reason: errorMessage(err) }, 'idle audit store connection lost'));
      // A checked-out client whose connection drops emits 'error' besides failing
      // the query in flight; unheard, that event would crash the process. The
      // failed query already carries the error, so the event itself is dropped.
      pool.on('connect', (client) => client.on('error', () => undefined));
      return pool;
    });
    return this.pool;
  }

  async insert(events: readonly AuditEvent[]): Promise<InsertResult> {
    if (events.length === 0) return { inserted: 0, duplicates: 0 };
    // Checked and converted as the SQLite writer does (event-row.ts): one mapping of events to columns.
    const rows: FlatRows = [];
    writeFlatRows(events, 0, events.length, rows);
    return this.withClient(async (client) => {
      let inserted = 0;
      await client.query('BEGIN');
      try {
        for (let i = 0; i < events.length; i += INSERT_CHUNK) {
          const values = columnArrays(rows, i, Math.min(events.length, i + INSERT_CHUNK));
          const res = await client.query({ name: 'audit_events_insert', text: INSERT_SQL, values });
          inserted += res.rowCount ?? 0;
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      return { inserted, duplicates: events.length - inserted };
    });
  }

  async search(query: SearchQuery, options?: SearchOptions): Promise<SearchPage> {
    const plan = planSearch(query, options);
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    for (const { column, value } of plan.equals) where.push(`${column} = ${param(value)}`);
    if (plan.fromMs !== undefined) where.push(`time >= ${param(new Date(plan.fromMs).toISOString())}::timestamptz`);
    if (plan.toMs !== undefined) where.push(`time < ${param(new Date(plan.toMs).toISOString())}::timestamptz`);
    if (plan.after) {
      where.push(
        `(time, id, source) < (${param(new Date(plan.after.timeMs).toISOString())}::timestamptz, ${param(plan.after.id)}, ${param(plan.after.source)})`,
      );
    }
    if (plan.text !== undefined) where.push(`message ILIKE ${param(likePattern(plan.text))} ESCAPE '\\'`);
    // One row more than asked tells whether another page exists without a count. Of those rows, only the ones
    // that start within the byte cap are sent over: a search over large events reads what one page can hold.
    const sql = `
      WITH page AS (
        SELECT id, source, time, ${ROW_BYTES} AS bytes FROM audit_events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
        ORDER BY time DESC, id DESC, source DESC LIMIT ${param(plan.limit + 1)}
      ), running AS (
        SELECT id, source, sum(bytes) OVER (ORDER BY time DESC, id DESC, source DESC) - bytes AS bytes_before, count(*) OVER () AS matched FROM page
      )
      SELECT ${SELECT_COLUMNS}, matched FROM audit_events JOIN running USING (id, source)
      WHERE bytes_before < ${param(plan.maxBytes)} ORDER BY time DESC, id DESC, source DESC`;
    const rows = await this.withClient(async (client) => (await client.query<SelectedRow & { matched: string }>(sql, params)).rows);
    const matched = Number(rows[0]?.matched ?? 0);
    return fillPage(rows, plan, (row) => ({ event: eventOf(row), position: { timeMs: row.time.getTime(), id: row.id, source: row.source } }), rows.length < matched);
  }

  async get(id: string, source?: string, tenant?: string): Promise<AuditEvent | undefined> {
    // A tenant's reader neither sees another tenant's event nor learns from an ambiguity that one exists.
    const t = tenant ?? null;
    const rows = await this.withClient(async (client) =>
      source === undefined
        ? (await client.query<SelectedRow>(`SELECT ${SELECT_COLUMNS} FROM audit_events WHERE id = $1 AND ($2::text IS NULL OR tenant = $2) ORDER BY source LIMIT ${AMBIGUOUS_LISTED}`, [id, t])).rows
        : (await client.query<SelectedRow>(`SELECT ${SELECT_COLUMNS} FROM audit_events WHERE id = $1 AND source = $2 AND ($3::text IS NULL OR tenant = $3)`, [id, source, t])).rows,
    );
    return onlyEvent(id, rows.map(eventOf));
  }

  async count(): Promise<number> {
    const rows = await this.withClient(
      async (client) => (await client.query<{ n: string }>('SELECT count(*) AS n FROM audit_events')).rows,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async ping(): Promise<void> {
    await this.withClient((client) => client.query('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await (await this.pool)?.end();
  }

  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new FatalError(`audit store ${this.location} is closed`, { code: 'STORE_CLOSED' });
    try {
      await this.migrated();
      const client = await (await this.poolOf()).connect();
      let broken: Error | undefined;
      try {
        return await work(client);
      } catch (err) {
        // A connection-level failure must not go back to the pool for reuse.
        if (isConnectionLoss(err)) broken = err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    } catch (err) {
      throw classifyPgError(err, this.location);
    }
  }

  /** Memoised; a failed attempt (database down) is forgotten so the next call tries again. */
  private migrated(): Promise<void> {
    this.ready ??= this.migrate().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /**
   * One transaction under an advisory lock: a second process opening the same
   * database waits for the first to finish, then finds nothing left to do.
   */
  private async migrate(): Promise<void> {
    const client = await (await this.poolOf()).connect();
    let broken: Error | undefined;
    try {
      await applyPostgresMigrations(
        client,
        'schema_migrations',
        MIGRATIONS,
        (current, latest) =>
          new FatalError(`audit store ${this.location} has schema version ${current}, newer than this auditstream knows (${latest}); upgrade auditstream`, {
            code: 'STORE_SCHEMA_NEWER',
          }),
      );
    } catch (err) {
      if (isConnectionLoss(err)) broken = err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

const TIME_MS_COLUMN = ROW_COLUMNS.indexOf('time_ms');

/** INSERT_SQL's parameters for flat rows `from` … `to` - 1: one array per column, every column of ROW_COLUMNS but time_ms (timestamptz holds it). */
function columnArrays(flat: FlatRows, from: number, to: number): unknown[][] {
  const width = ROW_COLUMNS.length;
  const columns: unknown[][] = [];
  for (let c = 0; c < width; c++) {
    if (c === TIME_MS_COLUMN) continue;
    const column = new Array<unknown>(to - from);
    for (let r = from; r < to; r++) column[r - from] = flat[r * width + c];
    columns.push(column);
  }
  return columns;
}

function eventOf(row: SelectedRow): AuditEvent {
  return fromRow({ ...row, time: row.time.toISOString() });
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** Node socket errors meaning the server is not reachable right now. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** pg reports these without a code. */
const NETWORK_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection error|Client was closed/i;

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !NETWORK_CODES.has(code) ? code : undefined;
}

function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const state = sqlState(err);
  if (state) return state.startsWith('08') || state.startsWith('57P');
  return err instanceof Error && NETWORK_MESSAGES.test(err.message);
}

/**
 * Sorts a PostgreSQL failure into what the emitter does about it:
 * unreachable, shutting down, out of resources, lock conflicts → retry;
 * data the column refuses (class 22, 23) → InvalidEventError so the caller can
 * find the bad event; everything else (auth, missing database, privileges,
 * broken schema) → FatalError: events stay queued until someone fixes it.
 */
export function classifyPgError(err: unknown, location: string): unknown {
  if (err instanceof AuditstreamError) return err;
  const message = `audit store ${location}: ${errorMessage(err)}`;
  if (isConnectionLoss(err)) return new RetriableError(message, { cause: err, code: 'STORE_UNAVAILABLE' });
  const state = sqlState(err);
  if (state === undefined) return err;
  if (state.startsWith('53') || state === '40001' || state === '40P01' || state === '55P03' || state === '57014') {
    return new RetriableError(message, { cause: err, code: `SQLSTATE_${state}` });
  }
  if (state.startsWith('22') || state.startsWith('23')) return new InvalidEventError(message, { cause: err });
  return new FatalError(message, { cause: err, code: `SQLSTATE_${state}` });
}
