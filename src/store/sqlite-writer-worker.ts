/**
 * The SQLite audit store's writer thread (started by sqlite-writer.ts): owns
 * the one write connection, applies migrations on start and runs each insert
 * batch as one IMMEDIATE transaction, so the commit's CPU and fsync happen
 * off the main event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { ROW_COLUMNS, type FlatRows } from './event-row.js';
import { classifySqliteError, toWire } from './sqlite-errors.js';
import { migrate, openSqlite } from './sqlite-schema.js';
import type { WriterReply, WriterRequest, WriterStart } from './sqlite-writer.js';

const port = parentPort!;
const { path, busyTimeoutMs, location } = workerData as WriterStart;

function reply(message: WriterReply): void {
  port.postMessage(message);
}

/** One prepared INSERT, reused for every row; values bound by position, straight from the flat rows. */
function prepareInsert(db: Database.Database): (rows: FlatRows, receivedAt: string) => number {
  const width = ROW_COLUMNS.length;
  const insertOne = db.prepare(
    `INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}, received_at)
     VALUES (${ROW_COLUMNS.map(() => '?').join(', ')}, ?)
     ON CONFLICT (id, source) DO NOTHING`,
  );
  const values: (string | number | null)[] = new Array(width + 1);
  const insertBatch = db.transaction((rows: FlatRows, receivedAt: string) => {
    let inserted = 0;
    values[width] = receivedAt;
    for (let at = 0; at < rows.length; at += width) {
      for (let c = 0; c < width; c++) values[c] = rows[at + c] as string | number | null;
      inserted += insertOne.run(values).changes;
    }
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
      const inserted = insertBatch(request.rows, new Date().toISOString());
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
