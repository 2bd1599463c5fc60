import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { RetriableError } from '../../src/core/errors.js';
import { SqliteAuditStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../support/temp.js';
import { makeEvent } from './events.js';
import { SQLITE_SCHEMA_V1, V1_ROWS } from './schema-v1.js';
import { migrationFromV1Behaviour, storeBehaviour, type StoreLocation } from './store-behaviour.js';

storeBehaviour('sqlite', async (t) => sqliteLocation(t, join(await tempDir(t), 'nested', 'dir', 'audit.db')));

migrationFromV1Behaviour('sqlite', async (t) => {
  const path = join(await tempDir(t), 'audit.db');
  const db = new Database(path);
  db.exec(SQLITE_SCHEMA_V1);
  const insert = db.prepare(
    `INSERT INTO audit_events (id, time, time_ms, type, source, outcome, actor, details, raw, received_at)
     VALUES (@id, @time, @timeMs, @type, @source, @outcome, @actor, @details, @raw, @time)`,
  );
  for (const row of V1_ROWS) insert.run({ ...row, timeMs: Date.parse(row.time) });
  db.close();
  return sqliteLocation(t, path);
});

function sqliteLocation(t: import('node:test').TestContext, path: string): StoreLocation {
  return {
    open() {
      const store = new SqliteAuditStore({ path });
      t.after(() => store.close());
      return store;
    },
    async schemaVersions() {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
      } finally {
        db.close();
      }
    },
    latestVersions: [1, 2, 3, 4],
  };
}

test('sqlite: the file is in WAL mode so searches do not block the writer', async (t) => {
  const path = join(await tempDir(t), 'audit.db');
  const store = new SqliteAuditStore({ path });
  t.after(() => store.close());
  await store.ping();
  const db = new Database(path, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
});

test('sqlite: a database locked by another writer is a retriable error, and works once released', async (t) => {
  const path = join(await tempDir(t), 'audit.db');
  const store = new SqliteAuditStore({ path, busyTimeoutMs: 50 });
  t.after(() => store.close());
  await store.ping();
  const other = new Database(path);
  t.after(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  await assert.rejects(store.insert([makeEvent({ id: 'while-locked' })]), (err: unknown) => {
    assert.ok(err instanceof RetriableError, `expected RetriableError, got ${String(err)}`);
    assert.equal(err.code, 'SQLITE_BUSY');
    return true;
  });
  other.exec('ROLLBACK');
  assert.deepEqual(await store.insert([makeEvent({ id: 'while-locked' })]), { inserted: 1, duplicates: 0 });
});

test('sqlite: events given as their stored JSON read back as the same events, multi-byte characters included, and count duplicates', async (t) => {
  const store = new SqliteAuditStore({ path: join(await tempDir(t), 'audit.db') });
  t.after(() => store.close());
  // Multi-byte characters before later events: each event's end is a byte offset, not a character index.
  const events = [
    makeEvent({ id: `名😀-${'x'.repeat(10)}`, message: 'ünïcödé 🚀', details: { note: '日本語' } }),
    makeEvent({ id: 'plain' }),
    makeEvent({ id: 'é', raw: '{"é":"😀"}' }),
  ];
  const stored = events.map((e) => Buffer.from(JSON.stringify(e)));
  assert.deepEqual(await store.insertJson(stored), { inserted: 3, duplicates: 0 });
  for (const event of events) assert.deepEqual(await store.get(event.id, event.source), event);
  assert.deepEqual(await store.insertJson(stored.slice(1)), { inserted: 0, duplicates: 2 });
  // The caller keeps its bytes: the batch sent to the writer thread is a copy.
  assert.equal(stored[0]!.toString(), JSON.stringify(events[0]));
});
