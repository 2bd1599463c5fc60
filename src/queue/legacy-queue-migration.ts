import Database from 'better-sqlite3';
import { existsSync, readdirSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import type { Journal, JournalAppend } from './journal.js';

/** Rows moved per journal append: bounded memory for queues of any size. */
const CHUNK_ROWS = 5000;
const CHUNK_BYTES = 32 * 1024 * 1024;

const CORRUPTION_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

export interface MigrationReport {
  /** Per emitter, events moved into the journal. */
  moved: Map<string, number>;
  /** Per emitter, where an unreadable old queue file was moved. */
  movedAside: Map<string, string>;
}

/**
 * Moves what an older release left queued — one SQLite file per emitter,
 * `<dataDir>/queues/<emitter>.db`, table `entries` — into the journal, for
 * the same emitter, in queue order. A chunk leaves the old file only once
 * the journal has it fsync'd, so a crash during the move delivers at most
 * one chunk twice and loses nothing. An unreadable old file is moved aside
 * and reported, as that release did: start-up never blocks on it.
 */
export async function migrateLegacyQueues(dataDir: string, journal: Journal, logger: Logger): Promise<MigrationReport> {
  const report: MigrationReport = { moved: new Map(), movedAside: new Map() };
  const dir = join(dataDir, 'queues');
  if (!existsSync(dir)) return report;
  for (const file of readdirSync(dir).sort()) {
    const m = /^(.+)\.db$/.exec(file);
    if (!m) continue;
    const name = m[1]!;
    const path = join(dir, file);
    let db: Database.Database;
    try {
      db = openLegacyQueue(path);
    } catch (err) {
      if (!CORRUPTION_CODES.has(String((err as { code?: unknown })?.code))) throw err;
      const movedTo = `${path}.corrupt-${Date.now()}`;
      for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
      logger.error({ emitter: name, file: path, movedTo, err: errorMessage(err) }, 'queue file unreadable; moved aside, starting an empty queue');
      report.movedAside.set(name, movedTo);
      continue;
    }
    try {
      const moved = await moveEntries(db, name, journal);
      report.moved.set(name, moved);
      if (moved > 0) logger.info({ emitter: name, events: moved, file: path }, 'moved the queue of an older release into the journal');
    } finally {
      db.close();
    }
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) unlinkSync(path + suffix);
  }
  if (readdirSync(dir).length === 0) rmdirSync(dir);
  return report;
}

function openLegacyQueue(path: string): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
    // A file from before any event was queued may lack the table: nothing to move.
    db.exec('CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, partition_key TEXT, bytes INTEGER NOT NULL, enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, payload BLOB NOT NULL)');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

async function moveEntries(db: Database.Database, name: string, journal: Journal): Promise<number> {
  const read = db.prepare('SELECT seq, event_id, partition_key, payload FROM entries WHERE seq > ? ORDER BY seq');
  const remove = db.prepare('DELETE FROM entries WHERE seq <= ?');
  let after = 0;
  let moved = 0;
  for (;;) {
    const chunk: JournalAppend[] = [];
    let bytes = 0;
    let last = after;
    for (const r of read.iterate(after) as IterableIterator<{ seq: number; event_id: string; partition_key: string | null; payload: Buffer }>) {
      chunk.push({ eventId: r.event_id, partitionKey: r.partition_key, payload: r.payload, destinations: [name] });
      bytes += r.payload.length;
      last = r.seq;
      if (chunk.length >= CHUNK_ROWS || bytes >= CHUNK_BYTES) break;
    }
    if (chunk.length === 0) return moved;
    await journal.append(chunk, { ignoreCaps: true });
    remove.run(last);
    moved += chunk.length;
    after = last;
  }
}
