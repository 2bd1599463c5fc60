/**
 * The SQLite store writes in a worker thread (src/store/sqlite-writer.ts) and
 * reads on the caller's thread. What the emitter relies on across that split.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { FatalError, InvalidEventError, RetriableError } from '../../src/core/errors.js';
import type { AuditEvent } from '../../src/core/event.js';
import { classifySqliteError } from '../../src/store/sqlite-errors.js';
import { SqliteAuditStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../support/temp.js';
import { eventSeries, makeEvent } from './events.js';

test('sqlite writer: a search right after an insert resolved finds every row of it', async (t) => {
  const store = new SqliteAuditStore({ path: join(await tempDir(t), 'audit.db') });
  t.after(() => store.close());
  for (let round = 0; round < 5; round++) {
    const batch = eventSeries(200, `2024-05-0${round + 1}T00:00:00.000Z`, { actor: `round-${round}` });
    assert.deepEqual(await store.insert(batch), { inserted: 200, duplicates: 0 });
    const { events } = await store.search({ actor: `round-${round}`, limit: 1000 });
    assert.equal(events.length, 200);
  }
  assert.equal(await store.count(), 1000);
});

test('sqlite writer: close() lets the inserts in flight commit first', async (t) => {
  const path = join(await tempDir(t), 'audit.db');
  const store = new SqliteAuditStore({ path });
  const batch = eventSeries(2000);
  const insert = store.insert(batch);
  await store.close();
  assert.deepEqual(await insert, { inserted: 2000, duplicates: 0 });
  await assert.rejects(store.insert([makeEvent()]), (err: unknown) => err instanceof FatalError && err.code === 'STORE_CLOSED');
  const reopened = new SqliteAuditStore({ path });
  t.after(() => reopened.close());
  assert.equal(await reopened.count(), 2000);
});

test('sqlite writer: a writer thread that dies fails its inserts as retriable; the next insert starts a new one', async (t) => {
  const store = new SqliteAuditStore({ path: join(await tempDir(t), 'audit.db') });
  t.after(() => store.close());
  await store.ping();
  // No fault can be provoked from outside, so the test ends the thread itself, as a crash would.
  void store['writer']['current']!.worker.terminate();
  const event = makeEvent({ id: 'during-crash' });
  await assert.rejects(store.insert([event]), (err: unknown) => {
    assert.ok(err instanceof RetriableError, `expected RetriableError, got ${String(err)}`);
    assert.equal(err.code, 'STORE_WRITER_EXITED');
    return true;
  });
  // The emitter's retry: the event is stored once whether or not the lost answer's commit happened.
  const retried = await store.insert([event]);
  assert.equal(retried.inserted + retried.duplicates, 1);
  assert.equal((await store.get('during-crash'))?.id, 'during-crash');
  assert.equal(await store.count(), 1);
});

test('sqlite writer: errors from the writer thread keep their class and code (a newer schema is fatal)', async (t) => {
  const path = join(await tempDir(t), 'audit.db');
  const store = new SqliteAuditStore({ path });
  await store.ping();
  await store.close();
  const db = new Database(path);
  db.prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'from the future', 'now')").run();
  db.close();
  const newer = new SqliteAuditStore({ path });
  t.after(() => newer.close());
  for (const attempt of [() => newer.insert([makeEvent()]), () => newer.ping()]) {
    await assert.rejects(attempt(), (err: unknown) => {
      assert.ok(err instanceof FatalError, `expected FatalError, got ${String(err)}`);
      assert.equal(err.code, 'STORE_SCHEMA_NEWER');
      return true;
    });
  }
});

/**
 * A store whose file another connection holds the write lock of, so that the
 * batches sent before `unlock` queue in the writer together: whichever batch
 * it took first waits for the lock, and the rest share the next transaction.
 * A refused batch is never alone in either, whatever the threads' timing.
 */
async function storeBehindLock(t: TestContext): Promise<{ store: SqliteAuditStore; unlock: () => Promise<void> }> {
  const path = join(await tempDir(t), 'audit.db');
  const store = new SqliteAuditStore({ path });
  t.after(() => store.close());
  await store.ping();
  const locker = new Database(path);
  t.after(() => locker.close());
  locker.prepare('BEGIN IMMEDIATE').run();
  return {
    store,
    unlock: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      locker.prepare('COMMIT').run();
    },
  };
}

test('sqlite writer: batches queued together share a transaction, and a refused row fails only its own batch, naming its place in it', async (t) => {
  const { store, unlock } = await storeBehindLock(t);
  const before = store.insert(eventSeries(300, '2024-05-01T00:00:00.000Z', { actor: 'before' }));
  // A NULL type breaks the column's NOT NULL constraint: the database refuses the row, not the caller's checks.
  const refused = store.insert([makeEvent({ actor: 'refused' }), makeEvent({ actor: 'refused', type: null as unknown as string })]);
  const after = store.insert(eventSeries(300, '2024-05-02T00:00:00.000Z', { actor: 'after' }));
  const last = store.insert(eventSeries(300, '2024-05-03T00:00:00.000Z', { actor: 'last' }));
  await unlock();

  await assert.rejects(refused, (err: unknown) => {
    assert.ok(err instanceof InvalidEventError, `expected InvalidEventError, got ${String(err)}`);
    assert.match(err.message, /NOT NULL constraint failed: audit_events\.type/);
    assert.equal(err.index, 1, "the refused row's place in its own batch, not in the group");
    return true;
  });
  assert.deepEqual(await before, { inserted: 300, duplicates: 0 });
  assert.deepEqual(await after, { inserted: 300, duplicates: 0 });
  assert.deepEqual(await last, { inserted: 300, duplicates: 0 });
  assert.equal(await store.count(), 900);
  assert.deepEqual((await store.search({ actor: 'refused' })).events, [], "the refused batch's good row went with it");
});

/**
 * `n` events from `startIso` whose JSON is exactly `size` bytes each, padded
 * with two-byte text in `raw`: byte counts, not characters, decide the writer's
 * chunk cuts, so a batch of them is cut at known places.
 */
function eventsOfSize(n: number, size: number, startIso: string, actor: string): AuditEvent[] {
  return eventSeries(n, startIso, { actor, message: 'ü😀' }).map((event) => {
    const bare = Buffer.byteLength(JSON.stringify({ ...event, raw: '' }));
    const pad = size - bare;
    assert.ok(pad >= 0, `an event of ${size} bytes holds its fields (${bare} bytes)`);
    return { ...event, raw: 'é'.repeat(Math.floor(pad / 2)) + 'x'.repeat(pad % 2) };
  });
}

test('sqlite writer: stored JSON is turned into rows a chunk at a time, cut at 256 events or, past its first event, at 256 KiB; every event is stored across the cuts, and a refused one at a cut is named by its place in its batch', async (t) => {
  const { store, unlock } = await storeBehindLock(t);
  const bytes = (e: object) => Buffer.from(JSON.stringify(e));
  const KiB = 1024;
  // 600 events of 512 bytes: 256 of them are 128 KiB, so the count cuts, after events 255 and 511.
  const byCount = eventsOfSize(600, 512, '2024-05-01T00:00:00.000Z', 'by-count');
  // 300 events of 4 KiB: 64 of them are exactly 256 KiB, so the bytes cut, after events 63, 127, 191 and 255.
  const byBytes = eventsOfSize(300, 4 * KiB, '2024-05-02T00:00:00.000Z', 'by-bytes');
  // A 300 KiB event after two of 4 KiB is a chunk of its own: the first event of a chunk is always taken.
  const oversized = [...eventsOfSize(2, 4 * KiB, '2024-05-03T00:00:00.000Z', 'oversized'), ...eventsOfSize(1, 300 * KiB, '2024-05-03T01:00:00.000Z', 'oversized'), ...eventsOfSize(2, 4 * KiB, '2024-05-03T02:00:00.000Z', 'oversized')];
  // Refused events first in a chunk, past the first chunk: their index in the batch is the chunk's start plus theirs in it.
  // A NULL type is refused by SQLite's NOT NULL as the row is inserted; an unreadable entry or a bad time before, as the chunk is parsed.
  const sqliteRefusedAtByteCut = eventsOfSize(300, 4 * KiB, '2024-05-04T00:00:00.000Z', 'refused').map(bytes);
  sqliteRefusedAtByteCut[128] = bytes(eventsOfSize(1, 4 * KiB, '2024-05-04T05:00:00.000Z', 'refused').map((e) => ({ ...e, type: null }))[0]!);
  const tornAtByteCut = eventsOfSize(300, 4 * KiB, '2024-05-05T00:00:00.000Z', 'torn').map(bytes);
  tornAtByteCut[192] = Buffer.from('{"id":"torn","time":"2024-05-0');
  const sqliteRefusedAtCountCut = eventsOfSize(600, 512, '2024-05-06T00:00:00.000Z', 'refused').map(bytes);
  sqliteRefusedAtCountCut[512] = bytes(eventsOfSize(1, 512, '2024-05-06T05:00:00.000Z', 'refused').map((e) => ({ ...e, type: null }))[0]!);
  const badTimeAtCountCut = eventSeries(500, '2024-05-07T00:00:00.000Z', { actor: 'bad-time' }).map(bytes);
  badTimeAtCountCut[256] = bytes(makeEvent({ id: 'bad-time-256', time: 'soon' }));
  const stored = [byCount, byBytes, oversized].map((batch) => store.insertJson(batch.map(bytes)));
  const refused = [sqliteRefusedAtByteCut, tornAtByteCut, sqliteRefusedAtCountCut, badTimeAtCountCut].map((batch) => store.insertJson(batch));
  const after = store.insertJson(eventSeries(300, '2024-05-08T00:00:00.000Z', { actor: 'after' }).map(bytes));
  await unlock();

  const refusal = (index: number, message: RegExp) => (err: unknown) => {
    assert.ok(err instanceof InvalidEventError, `expected InvalidEventError, got ${String(err)}`);
    assert.match(err.message, message);
    assert.equal(err.index, index);
    return true;
  };
  await assert.rejects(refused[0]!, refusal(128, /NOT NULL/));
  await assert.rejects(refused[1]!, refusal(192, /queue entry unreadable/));
  await assert.rejects(refused[2]!, refusal(512, /NOT NULL/));
  await assert.rejects(refused[3]!, refusal(256, /bad-time-256/));
  assert.deepEqual(await Promise.all(stored), [600, 300, 5].map((inserted) => ({ inserted, duplicates: 0 })));
  assert.deepEqual(await after, { inserted: 300, duplicates: 0 });
  assert.equal(await store.count(), 1205);
  for (const event of [...byCount, ...byBytes, ...oversized]) assert.deepEqual(await store.get(event.id, event.source), event);
});

test('sqlite writer: the WAL is copied into the database file as it grows, so it holds at most about 64 MiB not yet copied', async (t) => {
  const path = join(await tempDir(t), 'audit.db');
  const store = new SqliteAuditStore({ path });
  t.after(() => store.close());
  // 120 MiB of rows: without checkpoints the WAL would hold all of it.
  const raw = 'x'.repeat(20_000);
  for (let batch = 0; batch < 12; batch++) {
    await store.insert(eventSeries(500, `2024-05-${String(batch + 1).padStart(2, '0')}T00:00:00.000Z`, { raw }));
  }
  const db = new Database(path);
  t.after(() => db.close());
  const [{ log, checkpointed }] = db.pragma('wal_checkpoint(NOOP)') as [{ log: number; checkpointed: number }];
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const uncopiedMiB = ((log - checkpointed) * pageSize) / 1024 / 1024;
  assert.ok(uncopiedMiB < 80, `the WAL holds ${uncopiedMiB.toFixed(1)} MiB not copied into the database file`);
  assert.equal(await store.count(), 6000);
});

test('sqlite errors: a row refused for its content is the event\'s; a bind index out of range (SQLITE_RANGE), the same for every row, is fatal and dead-letters nothing', () => {
  assert.ok(classifySqliteError(new Database.SqliteError('NOT NULL constraint failed: audit_events.type', 'SQLITE_CONSTRAINT_NOTNULL'), 'test.db') instanceof InvalidEventError);
  assert.ok(classifySqliteError(new Database.SqliteError('column index out of range', 'SQLITE_RANGE'), 'test.db') instanceof FatalError);
  assert.ok(classifySqliteError(new Database.SqliteError('database is locked', 'SQLITE_BUSY'), 'test.db') instanceof RetriableError);
});
