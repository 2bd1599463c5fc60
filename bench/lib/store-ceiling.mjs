/**
 * The ceiling the audit store's inserts are measured against, run as its own
 * process (`node store-ceiling.mjs BACKEND TARGET COUNT PREFIX`) so that the
 * store's event loop, worker thread and garbage cannot slow it down. It writes
 * the benchmark's events into the schema and indexes the store itself creates
 * (the store opens the database first), with the driver and nothing else: rows
 * built before the clock starts, one prepared statement, large transactions,
 * and the cheapest durability each database offers short of losing the file
 * (SQLite WAL with synchronous = NORMAL; PostgreSQL synchronous_commit = off).
 * Prints one JSON line: { events, ms, eventsPerSec, cpuMsPer1k }.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { openAuditStore } from '../../dist/store/open-store.js';
import { auditEvents } from './events.mjs';

/** Rows per transaction: large enough that a commit's cost vanishes per row. */
const TRANSACTION_ROWS = 50_000;
/** Rows per PostgreSQL statement: the arrays of one unnest call. */
const PG_STATEMENT_ROWS = 5_000;

const COLUMNS = ['id', 'time', 'type', 'source', 'service', 'outcome', 'actor', 'client_ip', 'session_id', 'tenant', 'message', 'details', 'origin', 'raw'];

/** The columns as both backends take them (time as ISO text; JSON columns as text). */
function rowOf(e) {
  return [e.id, new Date(Date.parse(e.time)).toISOString(), e.type, e.source, e.service ?? null, e.outcome, e.actor ?? null, e.clientIp ?? null, e.sessionId ?? null, e.tenant ?? null, e.message ?? null, JSON.stringify(e.details), e.origin ? JSON.stringify(e.origin) : null, e.raw];
}

function rows(count, prefix) {
  const out = [];
  for (let i = 0; i < count; i += 10_000) out.push(...auditEvents(prefix, i, Math.min(10_000, count - i)).map(rowOf));
  return out;
}

/** Times `work` by the wall clock and by this process's CPU (every thread). */
async function measure(count, work) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { events: count, ms, eventsPerSec: (count * 1000) / ms, cpuMsPer1k: (cpu.user + cpu.system) / count };
}

async function sqlite(path, count, prefix) {
  const all = rows(count, prefix);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const columns = [...COLUMNS, 'time_ms', 'received_at'];
  const insert = db.prepare(`INSERT INTO audit_events (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  const insertAll = db.transaction((slice, receivedAt) => {
    for (const r of slice) insert.run(...r, Date.parse(r[1]), receivedAt);
  });
  const result = await measure(count, () => {
    for (let i = 0; i < all.length; i += TRANSACTION_ROWS) insertAll(all.slice(i, i + TRANSACTION_ROWS), new Date().toISOString());
  });
  db.close();
  return result;
}

async function postgres(url, count, prefix) {
  const all = rows(count, prefix);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    const types = ['text', 'timestamptz', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'];
    const text = `INSERT INTO audit_events (${COLUMNS.join(', ')})
      SELECT ${COLUMNS.map((c) => (c === 'details' || c === 'origin' ? `${c}::jsonb` : c)).join(', ')}
      FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${COLUMNS.join(', ')})`;
    return await measure(count, async () => {
      for (let i = 0; i < all.length; i += TRANSACTION_ROWS) {
        await client.query('BEGIN');
        const end = Math.min(all.length, i + TRANSACTION_ROWS);
        for (let j = i; j < end; j += PG_STATEMENT_ROWS) {
          const slice = all.slice(j, Math.min(end, j + PG_STATEMENT_ROWS));
          await client.query({ name: 'ceiling_insert', text, values: COLUMNS.map((_, c) => slice.map((r) => r[c])) });
        }
        await client.query('COMMIT');
      }
    });
  } finally {
    await client.end();
  }
}

const [backend, target, countText, prefix] = process.argv.slice(2);
const count = Number(countText);
// The store creates its schema, so the ceiling writes into exactly the same tables and indexes.
const store = openAuditStore(target, { dataDir: process.cwd() });
await store.ping();
await store.close();
const result = backend === 'sqlite' ? await sqlite(target, count, prefix) : await postgres(target, count, prefix);
process.stdout.write(`${JSON.stringify(result)}\n`);
