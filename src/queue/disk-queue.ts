import Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import type { Logger } from 'pino';
import { preparePrivateDatabase } from '../core/private-files.js';
import { QueueFullError, QueueWriteError } from './errors.js';

/**
 * Retry-After for a full queue. A queue drains a batch at a time, so a second
 * is enough to find out whether room was made; producers back off further on
 * repeated 429s. No estimate from the drain rate: it swings with the destination.
 */
const RETRY_AFTER_SEC = 1;

const CORRUPTION_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

function isCorruption(err: unknown): boolean {
  return CORRUPTION_CODES.has(String((err as { code?: unknown })?.code));
}

export interface QueueItem {
  eventId: string;
  partitionKey: string | null;
  payload: Buffer;
}

export interface QueueEntry extends QueueItem {
  seq: number;
  enqueuedAt: number;
  attempts: number;
}

export interface DiskQueueOptions {
  name: string;
  file: string;
  maxBytes: number;
  whenFull: 'block' | 'dropOldest';
  logger: Logger;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  partition_key TEXT,
  bytes INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  payload BLOB NOT NULL
);`;

interface PendingAppend {
  items: QueueItem[];
  resolve: (seqs: number[]) => void;
  reject: (err: unknown) => void;
}

/**
 * One emitter's durable queue: SQLite in WAL mode with synchronous=FULL, so a
 * resolved append has been fsync'd. Appends that arrive in the same turn of
 * the event loop share one transaction (group commit): one fsync serves every
 * concurrent request instead of one each.
 */
export class DiskQueue {
  readonly name: string;
  private readonly db: Database.Database;
  private readonly opts: DiskQueueOptions;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private bytesTotal = 0;
  private count = 0;
  private closed = false;
  private readonly stmts;
  /** Set when the queue file was unreadable at open and moved aside. */
  readonly recoveredFrom: string | undefined;
  /** Told the sequence numbers `whenFull: dropOldest` removed, so their waiters can be answered. */
  onDrop: ((seqs: number[]) => void) | undefined;

  constructor(opts: DiskQueueOptions) {
    this.opts = opts;
    this.name = opts.name;
    const opened = DiskQueue.open(opts.file, opts.logger, opts.name);
    this.db = opened.db;
    this.recoveredFrom = opened.movedTo;
    this.stmts = {
      insert: this.db.prepare('INSERT INTO entries (event_id, partition_key, bytes, enqueued_at, payload) VALUES (?, ?, ?, ?, ?)'),
      read: this.db.prepare('SELECT seq, event_id, partition_key, enqueued_at, attempts, payload FROM entries WHERE seq > ? ORDER BY seq LIMIT ?'),
      remove: this.db.prepare('DELETE FROM entries WHERE seq = ? RETURNING bytes'),
      removeRange: this.db.prepare('DELETE FROM entries WHERE seq BETWEEN ? AND ? RETURNING bytes'),
      durable: this.db.prepare('PRAGMA synchronous = FULL'),
      relaxed: this.db.prepare('PRAGMA synchronous = NORMAL'),
      attempt: this.db.prepare('UPDATE entries SET attempts = attempts + 1 WHERE seq = ?'),
      oldest: this.db.prepare('SELECT enqueued_at FROM entries ORDER BY seq LIMIT 1'),
      dropOldest: this.db.prepare('DELETE FROM entries WHERE seq = (SELECT MIN(seq) FROM entries) RETURNING seq, bytes'),
      stats: this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM entries'),
    };
    const s = this.stmts.stats.get() as { n: number; b: number };
    this.count = s.n;
    this.bytesTotal = s.b;
  }

  /**
   * Opens the queue file. A file SQLite cannot read (torn beyond WAL recovery,
   * overwritten, not a database) is moved aside and reported, and a fresh
   * queue starts: start-up must never block on a corrupt buffer (docs/failure-modes.md, row 7).
   */
  private static open(file: string, logger: Logger, name: string): { db: Database.Database; movedTo?: string } {
    try {
      preparePrivateDatabase(file);
      return { db: DiskQueue.init(new Database(file)) };
    } catch (err) {
      // Only corruption moves a file aside: a permission or descriptor problem must not hide a healthy queue.
      if (!existsSync(file) || !isCorruption(err)) throw err;
      const movedTo = `${file}.corrupt-${Date.now()}`;
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(file + suffix)) renameSync(file + suffix, movedTo + suffix);
      }
      logger.error({ emitter: name, file, movedTo, err: String(err) }, 'queue file unreadable; moved aside, starting an empty queue');
      preparePrivateDatabase(file);
      return { db: DiskQueue.init(new Database(file)), movedTo };
    }
  }

  private static init(db: Database.Database): Database.Database {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
    // integrity_check reads every page: too slow for big queues; quick_check catches torn pages.
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') {
      db.close();
      throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
    }
    return db;
  }

  get depth(): number {
    return this.count;
  }

  get bytes(): number {
    return this.bytesTotal;
  }

  get maxBytes(): number {
    return this.opts.maxBytes;
  }

  /** Milliseconds the oldest queued entry has waited; 0 when empty. */
  oldestAgeMs(now = Date.now()): number {
    if (this.count === 0) return 0;
    const row = this.stmts.oldest.get() as { enqueued_at: number } | undefined;
    return row ? Math.max(0, now - row.enqueued_at) : 0;
  }

  /** Resolves with the entries' sequence numbers once they are on disk (fsync'd). */
  append(items: QueueItem[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new QueueWriteError(this.name, new Error('queue is closed')));
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const now = Date.now();
    const accepted: { p: PendingAppend; seqs: number[] }[] = [];
    const refused: { p: PendingAppend; err: unknown }[] = [];
    const dropped: number[] = [];
    try {
      this.db.transaction(() => {
        let bytes = this.bytesTotal;
        let count = this.count;
        for (const p of batch) {
          const size = p.items.reduce((n, it) => n + it.payload.length, 0);
          if (bytes + size > this.opts.maxBytes) {
            if (this.opts.whenFull === 'block' || size > this.opts.maxBytes) {
              refused.push({ p, err: new QueueFullError(this.name, RETRY_AFTER_SEC) });
              continue;
            }
            while (bytes + size > this.opts.maxBytes && count > 0) {
              const row = this.stmts.dropOldest.get() as { seq: number; bytes: number } | undefined;
              if (!row) break;
              bytes -= row.bytes;
              count -= 1;
              dropped.push(row.seq);
            }
          }
          const seqs = p.items.map(
            (it) => Number(this.stmts.insert.run(it.eventId, it.partitionKey, it.payload.length, now, it.payload).lastInsertRowid),
          );
          bytes += size;
          count += p.items.length;
          accepted.push({ p, seqs });
        }
        this.bytesTotal = bytes;
        this.count = count;
      })();
    } catch (err) {
      // The transaction rolled back: recount from disk so the caps stay true (if the disk answers at all).
      try {
        const s = this.stmts.stats.get() as { n: number; b: number };
        this.count = s.n;
        this.bytesTotal = s.b;
      } catch {
        /* keep the counts we had; the next successful write corrects nothing but loses nothing */
      }
      const error = new QueueWriteError(this.name, err);
      this.opts.logger.error({ emitter: this.name, err: error.message }, 'queue write failed');
      for (const p of batch) p.reject(error);
      return;
    }
    if (dropped.length > 0) {
      this.opts.logger.warn({ emitter: this.name, dropped: dropped.length }, 'queue full: dropped oldest events (whenFull: dropOldest)');
      this.onDrop?.(dropped);
    }
    for (const a of accepted) a.p.resolve(a.seqs);
    for (const r of refused) r.p.reject(r.err);
  }

  /** Up to `limit` entries after `afterSeq`, in order, stopping before `maxBytes` (at least one). */
  read(afterSeq: number, limit: number, maxBytes: number): QueueEntry[] {
    // Rows are pulled one at a time: a sink asking for a million events (S3) must not load the queue into memory.
    const out: QueueEntry[] = [];
    let bytes = 0;
    for (const r of this.stmts.read.iterate(afterSeq, limit) as IterableIterator<{
      seq: number;
      event_id: string;
      partition_key: string | null;
      enqueued_at: number;
      attempts: number;
      payload: Buffer;
    }>) {
      if (out.length > 0 && bytes + r.payload.length > maxBytes) break;
      bytes += r.payload.length;
      out.push({ seq: r.seq, eventId: r.event_id, partitionKey: r.partition_key, enqueuedAt: r.enqueued_at, attempts: r.attempts, payload: r.payload });
    }
    return out;
  }

  /**
   * Removes delivered or dead-lettered entries. Committed without its own fsync:
   * a removal lost in a crash only means the entries are delivered again
   * (at-least-once; ids dedupe), while appends — acknowledgements — stay fsync'd.
   * A whole delivered batch is a contiguous range, removed in one statement.
   */
  remove(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    const sorted = [...new Set(seqs)].sort((a, b) => a - b);
    const contiguous = sorted[sorted.length - 1]! - sorted[0]! === sorted.length - 1;
    this.stmts.relaxed.run();
    try {
      const rows = this.db.transaction(() =>
        contiguous
          ? (this.stmts.removeRange.all(sorted[0], sorted[sorted.length - 1]) as { bytes: number }[])
          : sorted.flatMap((seq) => (this.stmts.remove.all(seq) as { bytes: number }[])),
      )();
      // Counted only once committed: a commit that fails (disk full) puts the rows back.
      this.bytesTotal -= rows.reduce((n, r) => n + r.bytes, 0);
      this.count -= rows.length;
    } finally {
      this.stmts.durable.run();
    }
  }

  recordAttempt(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.db.transaction(() => {
      for (const seq of seqs) this.stmts.attempt.run(seq);
    })();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pending.length > 0) this.flush();
    this.db.close();
  }
}
