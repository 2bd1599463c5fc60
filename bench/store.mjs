/**
 * store: insert rate of the audit store (SQLite and PostgreSQL) in the
 * emitter's batches of 500, beside a raw driver insert of the same rows into
 * the same schema without the store layer; then p50/p95 latency of the
 * documented searches (by type, by actor, by time range, cursor paging) over
 * everything inserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openAuditStore } from '../dist/store/open-store.js';
import { ACTORS, BASE_TIME_MS, SPACING_MS, TYPES, auditEvents } from './lib/events.mjs';
import { createDatabase, pgProblem } from './lib/pg.mjs';
import { fmt, fmtRatio, percentile, perSecond, ratio, table } from './lib/stats.mjs';

export const description = 'audit store inserts (SQLite, PostgreSQL) vs raw driver inserts; search latency';

const BATCH = 500;
const COLUMNS = ['id', 'time', 'type', 'source', 'service', 'outcome', 'actor', 'client_ip', 'session_id', 'tenant', 'message', 'details', 'origin', 'raw'];

/** Default size: a million events, the figure the docs quote; `all` uses the same. */
export const DEFAULT_EVENTS = 1_000_000;

export async function run({ smoke, events, tmp, log }) {
  const count = events ?? (smoke ? 1_000 : DEFAULT_EVENTS);
  const queries = smoke ? 5 : 200;
  const pages = smoke ? 3 : 10;
  const dir = await mkdtemp(join(tmp, 'store-'));
  const backends = [];
  try {
    backends.push(await sqliteBackend({ dir, count, queries, pages, log }));
    const problem = await pgProblem();
    backends.push(problem ? { backend: 'postgres', skipped: problem } : await postgresBackend({ dir, count, queries, pages, log }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { setup: { events: count, batch: BATCH, searchesPerKind: queries, pagesPerWalk: pages, pageSize: 100 }, backends };
}

/** Feeds `count` events in batches to `insert`, timing only the inserts (event generation is excluded). */
async function timeInserts(label, count, insert, log) {
  let ms = 0;
  let nextLog = performance.now() + 30_000;
  for (let i = 0; i < count; i += BATCH) {
    const batch = auditEvents('st', i, Math.min(BATCH, count - i));
    const t0 = performance.now();
    await insert(batch);
    ms += performance.now() - t0;
    if (performance.now() > nextLog) {
      log(`store: ${label}: ${i + batch.length} / ${count}`);
      nextLog += 30_000;
    }
  }
  return { events: count, ms, eventsPerSec: perSecond(count, ms) };
}

async function sqliteBackend({ dir, count, queries, pages, log }) {
  log(`store: SQLite: raw better-sqlite3 insert of ${count} events`);
  const rawPath = join(dir, 'raw.db');
  const schemaOnly = openAuditStore(rawPath, { dataDir: dir });
  await schemaOnly.ping();
  await schemaOnly.close();
  const db = new Database(rawPath);
  // The store's own settings, so the difference is the store layer and not durability.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const insert = db.prepare(`INSERT INTO audit_events (${COLUMNS.join(', ')}, time_ms, received_at) VALUES (${[...COLUMNS, 'time_ms', 'received_at'].map(() => '?').join(', ')})`);
  const insertAll = db.transaction((rows) => {
    for (const r of rows) insert.run(r);
  });
  const raw = await timeInserts('SQLite raw', count, (batch) => {
    const receivedAt = new Date().toISOString();
    insertAll(batch.map((e) => [...rowOf(e), Date.parse(e.time), receivedAt]));
  }, log);
  db.close();

  log(`store: SQLite: audit store insert of ${count} events`);
  const store = openAuditStore(join(dir, 'audit.db'), { dataDir: dir });
  try {
    const stored = await timeInserts('SQLite store', count, (batch) => store.insert(batch), log);
    log('store: SQLite: searches');
    const searches = await timeSearches(store, count, queries, pages);
    return { backend: 'sqlite', raw, store: stored, ratio: ratio(stored.eventsPerSec, raw.eventsPerSec), searches };
  } finally {
    await store.close();
  }
}

async function postgresBackend({ dir, count, queries, pages, log }) {
  const rawDb = await createDatabase('auditstream_bench_raw');
  const storeDb = await createDatabase('auditstream_bench_store');
  try {
    log(`store: PostgreSQL: raw pg insert of ${count} events`);
    const schemaOnly = openAuditStore(rawDb.url, { dataDir: dir });
    await schemaOnly.ping();
    await schemaOnly.close();
    const client = new pg.Client({ connectionString: rawDb.url });
    await client.connect();
    let raw;
    try {
      // The plain way to bulk insert with the driver: one multi-row INSERT … VALUES per batch (autocommit).
      raw = await timeInserts('PostgreSQL raw', count, async (batch) => {
        const values = [];
        const tuples = batch.map((e, r) => {
          values.push(...rowOf(e));
          return `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`;
        });
        await client.query(`INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, values);
      }, log);
    } finally {
      await client.end();
    }

    log(`store: PostgreSQL: audit store insert of ${count} events`);
    const store = openAuditStore(storeDb.url, { dataDir: dir });
    try {
      const stored = await timeInserts('PostgreSQL store', count, (batch) => store.insert(batch), log);
      // A freshly loaded table has no planner statistics until autovacuum's ANALYZE runs; do it now, as a running server soon would.
      const c = new pg.Client({ connectionString: storeDb.url });
      await c.connect();
      await c.query('ANALYZE audit_events');
      await c.end();
      log('store: PostgreSQL: searches');
      const searches = await timeSearches(store, count, queries, pages);
      return { backend: 'postgres', raw, store: stored, ratio: ratio(stored.eventsPerSec, raw.eventsPerSec), searches };
    } finally {
      await store.close();
    }
  } finally {
    await rawDb.drop();
    await storeDb.drop();
  }
}

/** The columns as both backends take them (time as ISO text; JSON columns as text). */
function rowOf(e) {
  return [e.id, new Date(Date.parse(e.time)).toISOString(), e.type, e.source, e.service ?? null, e.outcome, e.actor ?? null, e.clientIp ?? null, e.sessionId ?? null, e.tenant ?? null, e.message ?? null, JSON.stringify(e.details), e.origin ? JSON.stringify(e.origin) : null, e.raw];
}

/**
 * Runs each documented search `queries` times with random parameters, and
 * `queries / 10` walks of `pages` pages by cursor; returns p50/p95 in ms and
 * the average number of events a page held (so an empty result cannot pass for fast).
 */
async function timeSearches(store, count, queries, pages) {
  const spanMs = count * SPACING_MS;
  const pick = (n) => Math.floor(Math.random() * n);
  const kinds = {
    byType: () => ({ type: TYPES[pick(TYPES.length)] }),
    byActor: () => ({ actor: `user${String(pick(Math.min(ACTORS, count))).padStart(4, '0')}@example.com` }),
    byTimeRange: () => {
      const from = BASE_TIME_MS + pick(Math.max(1, spanMs - 3_600_000));
      return { from: new Date(from).toISOString(), to: new Date(from + 3_600_000).toISOString() };
    },
  };
  const out = {};
  for (const [kind, params] of Object.entries(kinds)) {
    const latencies = [];
    let returned = 0;
    for (let q = 0; q < queries; q++) {
      const query = params();
      const t0 = performance.now();
      const page = await store.search(query);
      latencies.push(performance.now() - t0);
      returned += page.events.length;
    }
    out[kind] = { p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), searches: latencies.length, avgEvents: returned / latencies.length };
  }
  // Later pages of a by-type walk: each starts from the previous page's cursor.
  const latencies = [];
  let returned = 0;
  for (let w = 0; w < Math.max(1, queries / 10); w++) {
    const type = TYPES[pick(TYPES.length)];
    let page = await store.search({ type });
    for (let p = 1; p < pages && page.nextCursor; p++) {
      const t0 = performance.now();
      page = await store.search({ type, cursor: page.nextCursor });
      latencies.push(performance.now() - t0);
      returned += page.events.length;
    }
  }
  out.cursorPaging = { p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), searches: latencies.length, avgEvents: returned / (latencies.length || 1) };
  return out;
}

export function summarize(r) {
  const inserts = table(
    ['backend', 'raw driver ev/s', 'audit store ev/s', 'ratio', 'events'],
    r.backends.map((b) => (b.skipped ? [b.backend, 'skipped', '', '', b.skipped] : [b.backend, fmt(b.raw.eventsPerSec), fmt(b.store.eventsPerSec), fmtRatio(b.ratio), fmt(b.store.events)])),
  );
  const kinds = [
    ['byType', 'type=…'],
    ['byActor', 'actor=…'],
    ['byTimeRange', 'from…to (1 h)'],
    ['cursorPaging', 'type=…&cursor=… (pages 2+)'],
  ];
  const done = r.backends.filter((b) => !b.skipped);
  const searches = table(
    ['search (limit 100)', ...done.map((b) => `${b.backend} p50 / p95 ms`), 'events/page'],
    kinds.map(([k, label]) => [label, ...done.map((b) => `${fmt(b.searches[k].p50Ms)} / ${fmt(b.searches[k].p95Ms)}`), fmt(done[0]?.searches[k].avgEvents)]),
  );
  return `${inserts}\n\n${searches}\n(over ${fmt(r.setup.events)} stored events; ${r.setup.searchesPerKind} searches per kind)`;
}
