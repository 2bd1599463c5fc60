import Database from 'better-sqlite3';
import { existsSync, readdirSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import { DeadLetterFile, emitterDeadLetterPath, type DeadLetter } from './dead-letter-file.js';
import type { Journal, JournalAppend } from './journal.js';

/** Rows moved per journal append: bounded memory for queues of any size. */
const CHUNK_ROWS = 5000;
const CHUNK_BYTES = 32 * 1024 * 1024;

const CORRUPTION_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

export interface MigrationReport {
  /** Per emitter, events moved into the journal. */
  moved: Map<string, number>;
  /** Per emitter, rows whose payload was not a JSON object: written to its dead-letter file instead. */
  deadLettered: Map<string, number>;
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
  const report: MigrationReport = { moved: new Map(), deadLettered: new Map(), movedAside: new Map() };
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
      const deadLetter = new DeadLetterFile(emitterDeadLetterPath(dataDir, name), name);
      const moved = await moveEntries(db, name, journal, deadLetter);
      report.moved.set(name, moved);
      report.deadLettered.set(name, deadLetter.written);
      if (moved > 0) logger.info({ emitter: name, events: moved, file: path }, 'moved the queue of an older release into the journal');
      if (deadLetter.written > 0) {
        logger.error({ emitter: name, count: deadLetter.written, file: deadLetter.file }, 'queue entries of an older release that are not a JSON object dead-lettered');
      }
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

/**
 * The journal checksums what it is given, and a destination taking stored
 * bytes (the log's json layout) writes them as they are: a payload is
 * checked to be a JSON object here, once, as the emitter's parse did when
 * these queues were read directly.
 */
function unreadablePayload(payload: Buffer): string | undefined {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? undefined : 'not a JSON object';
  } catch (err) {
    return errorMessage(err);
  }
}

async function moveEntries(db: Database.Database, name: string, journal: Journal, deadLetter: DeadLetterFile): Promise<number> {
  const read = db.prepare('SELECT seq, event_id, partition_key, payload FROM entries WHERE seq > ? ORDER BY seq');
  const remove = db.prepare('DELETE FROM entries WHERE seq <= ?');
  let after = 0;
  let moved = 0;
  for (;;) {
    const chunk: JournalAppend[] = [];
    const unreadable: DeadLetter[] = [];
    let bytes = 0;
    let last = after;
    for (const r of read.iterate(after) as IterableIterator<{ seq: number; event_id: string; partition_key: string | null; payload: Buffer }>) {
      const problem = unreadablePayload(r.payload);
      if (problem === undefined) chunk.push({ eventId: r.event_id, partitionKey: r.partition_key, payload: r.payload, destinations: [name] });
      else unreadable.push({ eventId: r.event_id, payload: r.payload, attempts: 0, reason: `queue entry unreadable: ${problem}` });
      bytes += r.payload.length;
      last = r.seq;
      if (chunk.length + unreadable.length >= CHUNK_ROWS || bytes >= CHUNK_BYTES) break;
    }
    if (last === after) return moved;
    // Both on disk before the rows leave the old file: a crash in between writes them again, never loses them.
    deadLetter.write(unreadable);
    if (chunk.length > 0) await journal.append(chunk, { ignoreCaps: true });
    remove.run(last);
    moved += chunk.length;
    after = last;
  }
}
