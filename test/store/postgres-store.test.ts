import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { FatalError, InvalidEventError, RetriableError } from '../../src/core/errors.js';
import { PostgresAuditStore } from '../../src/store/postgres-store.js';
import { freePort } from '../support/free-port.js';
import { eventSeries, makeEvent } from './events.js';
import { createPgDatabase, queryPg, type PgDatabase } from '../support/pg-database.js';
import { POSTGRES_SCHEMA_V1, V1_ROWS } from './schema-v1.js';
import { migrationFromV1Behaviour, storeBehaviour, type StoreLocation } from './store-behaviour.js';

function postgresLocation(db: PgDatabase): StoreLocation {
  return {
    open() {
      return db.own(new PostgresAuditStore({ url: db.url, poolSize: 3 }));
    },
    async schemaVersions() {
      return (await queryPg<{ version: number }>(db.url, 'SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version);
    },
    latestVersions: [1, 2, 3],
  };
}

storeBehaviour('postgres', async (t) => postgresLocation(await createPgDatabase(t)));

migrationFromV1Behaviour('postgres', async (t) => {
  const db = await createPgDatabase(t);
  await queryPg(db.url, POSTGRES_SCHEMA_V1);
  for (const row of V1_ROWS) {
    await queryPg(db.url, 'INSERT INTO audit_events (id, time, type, source, outcome, actor, details, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      row.id, row.time, row.type, row.source, row.outcome, row.actor, row.details, row.raw,
    ]);
  }
  return postgresLocation(db);
});

test('postgres: several stores (separate connections, as separate processes would have) migrate a new database once', async (t) => {
  const { url, own } = await createPgDatabase(t);
  const stores = Array.from({ length: 6 }, () => own(new PostgresAuditStore({ url, poolSize: 2 })));
  await Promise.all(stores.map((s) => s.ping()));
  const rows = await queryPg<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
  assert.deepEqual(rows.map((r) => r.version), [1, 2, 3]);
});

test('postgres: a server that is not listening is a retriable error, not a crash', async (t) => {
  const port = await freePort();
  const store = new PostgresAuditStore({ url: `postgres://postgres@127.0.0.1:${port}/audit`, connectTimeoutMs: 2000 });
  t.after(() => store.close());
  for (const attempt of [() => store.insert([makeEvent()]), () => store.search({}), () => store.ping()]) {
    await assert.rejects(attempt(), (err: unknown) => {
      assert.ok(err instanceof RetriableError, `expected RetriableError, got ${String(err)}`);
      assert.match(err.message, /127\.0\.0\.1/);
      return true;
    });
  }
});

test('postgres: a missing database is a fatal error naming the store, password redacted', async (t) => {
  const store = new PostgresAuditStore({ url: 'postgres://postgres:secret@127.0.0.1:5432/auditstream_no_such_database' });
  t.after(() => store.close());
  assert.equal(store.location, 'postgres://postgres:***@127.0.0.1:5432/auditstream_no_such_database');
  await assert.rejects(store.ping(), (err: unknown) => {
    assert.ok(err instanceof FatalError, `expected FatalError, got ${String(err)}`);
    assert.match(err.message, /auditstream_no_such_database/);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
});

test('postgres: text PostgreSQL cannot hold (a NUL byte) refuses the event as invalid', async (t) => {
  const { url, own } = await createPgDatabase(t);
  const store = own(new PostgresAuditStore({ url }));
  await assert.rejects(store.insert([makeEvent({ id: 'ok' }), makeEvent({ raw: 'a\u0000b' })]), InvalidEventError);
  await assert.rejects(store.insert([makeEvent({ details: { k: 'a\u0000b' } })]), InvalidEventError);
  assert.equal(await store.count(), 0);
});

test('postgres: a batch larger than one INSERT chunk (1 000 rows) is stored whole, each event as sent on both sides of a cut; replay deduped', async (t) => {
  const { url, own } = await createPgDatabase(t);
  const store = own(new PostgresAuditStore({ url }));
  // Every event differs in more than its id, or a row whose columns came from a neighbour would read back unchanged.
  const batch = eventSeries(2500).map((e, i) => ({ ...e, actor: `actor-${i}` }));
  assert.deepEqual(await store.insert(batch), { inserted: 2500, duplicates: 0 });
  for (const i of [0, 999, 1000, 1999, 2000, 2499]) assert.deepEqual(await store.get(batch[i]!.id, batch[i]!.source), batch[i], `event ${i}`);
  assert.deepEqual(await store.insert(batch), { inserted: 0, duplicates: 2500 });
  assert.equal(await store.count(), 2500);
});

test('postgres: newest-first search with a filter is served by an index', async (t) => {
  const { url, own } = await createPgDatabase(t);
  const store = own(new PostgresAuditStore({ url }));
  await store.ping();
  // Without statistics the planner picks a sequential scan on a small table; forbid it to see the index is usable.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let text: string;
  try {
    await client.query('SET enable_seqscan = off');
    const explain = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM audit_events WHERE actor = 'a' AND (time, id, source) < ('2024-01-01T00:00:00Z'::timestamptz, 'x', 'blitz')
       ORDER BY time DESC, id DESC, source DESC LIMIT 101`,
    );
    text = explain.rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.end();
  }
  assert.match(text, /audit_events_actor_time/);
  assert.doesNotMatch(text, /Sort/);
});
