import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { RetriableError } from '../../src/core/errors.js';
import { SqliteAuditStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../support/temp.js';
import { makeEvent } from './events.js';
import { storeBehaviour } from './store-behaviour.js';

storeBehaviour('sqlite', async (t) => {
  const path = join(await tempDir(t), 'nested', 'dir', 'audit.db');
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
  };
});

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
