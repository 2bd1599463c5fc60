/**
 * The SQLite audit store's writer thread (started by sqlite-writer.ts): owns
 * the one write connection, applies migrations on start and runs each insert
 * batch as one IMMEDIATE transaction, so the commit's CPU and fsync happen
 * off the main event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { AuditEvent } from '../core/event.js';
import { toRow, type EventRow } from './event-row.js';
import { classifySqliteError, toWire } from './sqlite-errors.js';
import { COLUMNS, migrate, openSqlite } from './sqlite-schema.js';
import type { WriterReply, WriterRequest, WriterStart } from './sqlite-writer.js';

const port = parentPort!;
const { path, busyTimeoutMs, location } = workerData as WriterStart;

function reply(message: WriterReply): void {
  port.postMessage(message);
}

function prepareInsert(db: Database.Database): (rows: EventRow[], receivedAt: string) => number {
  const insertOne = db.prepare(
    `INSERT INTO audit_events (${COLUMNS}, time_ms, received_at)
     VALUES (@id, @time, @type, @source, @service, @outcome, @actor, @client_ip, @session_id, @tenant, @message, @details, @origin, @raw, @timeMs, @receivedAt)
     ON CONFLICT (id, source) DO NOTHING`,
  );
  const insertBatch = db.transaction((rows: EventRow[], receivedAt: string) => {
    let inserted = 0;
    for (const row of rows) inserted += insertOne.run({ ...row, receivedAt }).changes;
    return inserted;
  });
  return (rows, receivedAt) => insertBatch.immediate(rows, receivedAt);
}

/**
 * Events committed between checkpoints: about what fills SQLite's default
 * 1000-page autocheckpoint with rows of a few hundred bytes and their indexes.
 */
const CHECKPOINT_EVERY_EVENTS = 2000;

let db: Database.Database | undefined;
try {
  db = openSqlite(path, busyTimeoutMs, 'writer');
  migrate(db, location);
  // Checkpoints run after the answer below instead of inside a commit, so the
  // emitter prepares its next batch meanwhile rather than waiting for them.
  db.pragma('wal_autocheckpoint = 0');
  const insertBatch = prepareInsert(db);
  const open = db;
  let sinceCheckpoint = 0;
  port.on('message', (request: WriterRequest) => {
    if (request.op === 'close') {
      open.close();
      port.close();
      return;
    }
    try {
      const rows = request.events.map((event: AuditEvent) => toRow(event));
      const inserted = insertBatch(rows, new Date().toISOString());
      reply({ id: request.id, ok: true, inserted });
      sinceCheckpoint += inserted;
    } catch (err) {
      reply({ id: request.id, ok: false, error: toWire(classifySqliteError(err, location)) });
      return;
    }
    if (sinceCheckpoint < CHECKPOINT_EVERY_EVENTS) return;
    sinceCheckpoint = 0;
    try {
      // PASSIVE never waits for readers; what it cannot copy now, a later one will.
      open.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Like SQLite's own autocheckpoint, a failed checkpoint is not the insert's failure.
    }
  });
  reply({ id: 0, ok: true, inserted: 0 });
} catch (err) {
  db?.close();
  // Nothing listens on the port any more, so the thread ends after this reply.
  reply({ id: 0, ok: false, error: toWire(classifySqliteError(err, location)) });
}
