/**
 * store: insert rate of the audit store (SQLite and PostgreSQL) in the
 * emitter's default batches, beside the ceiling (bench/lib/store-ceiling.mjs):
 * the same rows written into the same schema and indexes by the bare driver
 * in its own process, one prepared statement in large transactions, with the
 * cheapest durability setting. Then p50/p95 latency of the documented
 * searches (by type, by actor, by a tenant and an actor, by time range,
 * cursor paging) over everything inserted.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import pg from 'pg';
import { auditStoreSink } from '../dist/sinks/audit-store.js';
import { openAuditStore } from '../dist/store/open-store.js';
import { ACTORS, BASE_TIME_MS, SPACING_MS, TYPES, auditEvents } from './lib/events.mjs';
import { createDatabase, pgProblem } from './lib/pg.mjs';
import { fmt, fmtRatio, percentile, perSecond, ratio, table } from './lib/stats.mjs';

export const description = 'audit store inserts (SQLite, PostgreSQL) vs the bare-driver ceiling in its own process; search latency';

/** The audit-store emitter's default batchSize: what one insert gets under a backlog. */
const BATCH = auditStoreSink.schema.parse({}).batchSize;
const CEILING = join(import.meta.dirname, 'lib', 'store-ceiling.mjs');

/**
 * The in-flight cases: small batches, as a store gets them without a backlog,
 * sent one at a time or several at once (what the writer may group into one
 * transaction). At most IN_FLIGHT_EVENTS each, built before the clock starts.
 */
const SMALL_BATCH = 500;
const IN_FLIGHT = [1, 4];
const IN_FLIGHT_EVENTS = 100_000;

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

/** The ceiling's figures for `count` events into `target` (a SQLite path or a PostgreSQL URL). */
async function ceiling(backend, target, count, dir) {
  const { stdout } = await promisify(execFile)(process.execPath, [CEILING, backend, target, String(count), 'st'], { cwd: dir, maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

/**
 * Feeds `count` events in batches to `insert`, timing only the inserts (event
 * generation is excluded), by the wall clock and by the CPU of the whole
 * process, the store's writer thread included.
 */
async function timeInserts(label, count, insert, log) {
  let ms = 0;
  let cpuMicros = 0;
  let nextLog = performance.now() + 30_000;
  for (let i = 0; i < count; i += BATCH) {
    const batch = auditEvents('st', i, Math.min(BATCH, count - i));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await insert(batch);
    ms += performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    cpuMicros += cpu.user + cpu.system;
    if (performance.now() > nextLog) {
      log(`store: ${label}: ${i + batch.length} / ${count}`);
      nextLog += 30_000;
    }
  }
  return { events: count, ms, eventsPerSec: perSecond(count, ms), cpuMsPer1k: cpuMicros / count };
}

/**
 * `count` events in SMALL_BATCH batches into a fresh store, `inFlight` inserts
 * at a time, timed from the first insert to the last answer (events are built
 * before), by the wall clock and the CPU of the whole process.
 */
async function timeInFlight(path, dir, count, inFlight) {
  const batches = [];
  for (let i = 0; i < count; i += SMALL_BATCH) batches.push(auditEvents(`f${inFlight}`, i, Math.min(SMALL_BATCH, count - i)));
  const store = openAuditStore(path, { dataDir: dir });
  try {
    await store.ping();
    let next = 0;
    const lane = async () => {
      while (next < batches.length) await store.insert(batches[next++]);
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inFlight }, lane));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { inFlight, batch: SMALL_BATCH, events: count, ms, eventsPerSec: perSecond(count, ms), cpuMsPer1k: (cpu.user + cpu.system) / count };
  } finally {
    await store.close();
  }
}

async function sqliteBackend({ dir, count, queries, pages, log }) {
  log(`store: SQLite: ceiling, ${count} events in its own process`);
  const raw = await ceiling('sqlite', join(dir, 'ceiling.db'), count, dir);

  log(`store: SQLite: audit store insert of ${count} events`);
  const store = openAuditStore(join(dir, 'audit.db'), { dataDir: dir });
  try {
    const stored = await timeInserts('SQLite store', count, (batch) => store.insert(batch), log);
    const inFlight = [];
    for (const n of IN_FLIGHT) {
      log(`store: SQLite: ${SMALL_BATCH}-event batches, ${n} in flight`);
      inFlight.push(await timeInFlight(join(dir, `in-flight-${n}.db`), dir, Math.min(count, IN_FLIGHT_EVENTS), n));
    }
    log('store: SQLite: searches');
    const searches = await timeSearches(store, count, queries, pages);
    return { backend: 'sqlite', raw, store: stored, ratio: ratio(stored.eventsPerSec, raw.eventsPerSec), inFlight, searches };
  } finally {
    await store.close();
  }
}

async function postgresBackend({ dir, count, queries, pages, log }) {
  const rawDb = await createDatabase('auditstream_bench_raw');
  const storeDb = await createDatabase('auditstream_bench_store');
  try {
    log(`store: PostgreSQL: ceiling, ${count} events in its own process`);
    const raw = await ceiling('postgres', rawDb.url, count, dir);

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
    // What a tenant's reader sends: the tenant filter comes with every search (every event is tenant acme's).
    byTenantActor: () => ({ tenant: 'acme', actor: `user${String(pick(Math.min(ACTORS, count))).padStart(4, '0')}@example.com` }),
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
    ['backend', 'ceiling ev/s', 'audit store ev/s', 'ratio', 'ceiling CPU ms/1k', 'store CPU ms/1k', 'events'],
    r.backends.map((b) =>
      b.skipped
        ? [b.backend, 'skipped', '', '', '', '', b.skipped]
        : [b.backend, fmt(b.raw.eventsPerSec), fmt(b.store.eventsPerSec), fmtRatio(b.ratio), fmt(b.raw.cpuMsPer1k), fmt(b.store.cpuMsPer1k), fmt(b.store.events)],
    ),
  );
  const sqlite = r.backends.find((b) => b.backend === 'sqlite' && b.inFlight);
  const inFlight = sqlite
    ? table(
        ['SQLite, batches of', 'in flight', 'audit store ev/s', 'ratio to ceiling', 'store CPU ms/1k', 'events'],
        sqlite.inFlight.map((f) => [fmt(f.batch), fmt(f.inFlight), fmt(f.eventsPerSec), fmtRatio(ratio(f.eventsPerSec, sqlite.raw.eventsPerSec)), fmt(f.cpuMsPer1k), fmt(f.events)]),
      )
    : '';
  const kinds = [
    ['byType', 'type=…'],
    ['byActor', 'actor=…'],
    ['byTenantActor', 'tenant=…&actor=…'],
    ['byTimeRange', 'from…to (1 h)'],
    ['cursorPaging', 'type=…&cursor=… (pages 2+)'],
  ];
  const done = r.backends.filter((b) => !b.skipped);
  const searches = table(
    ['search (limit 100)', ...done.map((b) => `${b.backend} p50 / p95 ms`), 'events/page'],
    kinds.map(([k, label]) => [label, ...done.map((b) => `${fmt(b.searches[k].p50Ms)} / ${fmt(b.searches[k].p95Ms)}`), fmt(done[0]?.searches[k].avgEvents)]),
  );
  return `${inserts}\n\n${inFlight ? `${inFlight}\n\n` : ''}${searches}\n(over ${fmt(r.setup.events)} stored events; ${r.setup.searchesPerKind} searches per kind)`;
}
