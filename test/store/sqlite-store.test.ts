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
