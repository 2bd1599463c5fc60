import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openPrivateDatabase } from '../../core/private-database.js';
import type { ObjectRef, UndeletedObject, UndeletedObjects } from './object-reader.js';

/** The bucket and prefix the state was written for; reading another with it would skip or re-read at random. */
export interface S3Location {
  bucket: string;
  prefix: string;
}

export interface PartialObject {
  key: string;
  etag: string;
  /** The first `acked` events of this version were acknowledged. */
  acked: number;
}

/** The state folder holds another location's progress. */
export class StateLocationMismatch extends Error {
  constructor(
    readonly file: string,
    readonly stored: S3Location,
  ) {
    super(`${file} holds the progress of s3://${stored.bucket}/${stored.prefix}`);
  }
}

/**
 * What an S3 source has read, in `${dir}/state.sqlite`: every object version
 * whose events were all acknowledged (`completed`), how far into a partly
 * published object it got (`partial`), and read objects whose delete failed
 * (`undeleted`, deleteAfterRead only). A set of keys rather than a "last key"
 * because objects appear under keys that sort before ones already read (the
 * S3 emitter's event-time keys, CloudWatch Logs export task ids).
 * Every write is one SQLite transaction (WAL, synchronous FULL), so a crash
 * keeps either the old or the new state.
 */
export class S3SourceState implements UndeletedObjects {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(dir: string, location: S3Location) {
    this.file = join(dir, 'state.sqlite');
    const db = openPrivateDatabase(this.file, {
      synchronous: 'FULL',
      schema: `
        CREATE TABLE IF NOT EXISTS location (bucket TEXT NOT NULL, prefix TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS completed (key TEXT PRIMARY KEY, etag TEXT, completed_at INTEGER);
        CREATE TABLE IF NOT EXISTS partial (key TEXT PRIMARY KEY, etag TEXT NOT NULL, acked INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS undeleted (key TEXT PRIMARY KEY, attempts INTEGER NOT NULL, last_error TEXT NOT NULL, next_attempt_at INTEGER NOT NULL);
        CREATE TEMP TABLE listed (key TEXT PRIMARY KEY);
      `,
    });
    try {
      db.transaction(() => {
        const stored = db.prepare(`SELECT bucket, prefix FROM location`).get() as S3Location | undefined;
        if (!stored) db.prepare(`INSERT INTO location (bucket, prefix) VALUES (@bucket, @prefix)`).run(location);
        else if (stored.bucket !== location.bucket || stored.prefix !== location.prefix) throw new StateLocationMismatch(this.file, { bucket: stored.bucket, prefix: stored.prefix });
      })();
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    this.stmts = {
      completedEtag: db.prepare(`SELECT etag FROM completed WHERE key = ?`).pluck(),
      complete: db.prepare(`INSERT INTO completed (key, etag, completed_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET etag = excluded.etag, completed_at = excluded.completed_at`),
      partialAcked: db.prepare(`SELECT acked FROM partial WHERE key = ? AND etag = ?`).pluck(),
      savePartial: db.prepare(`INSERT INTO partial (key, etag, acked) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET etag = excluded.etag, acked = excluded.acked`),
      dropPartial: db.prepare(`DELETE FROM partial WHERE key = ?`),
      undeleted: db.prepare(`SELECT key, attempts, last_error AS lastError, next_attempt_at AS nextAttemptAt FROM undeleted WHERE key = ?`),
      deleteFailed: db.prepare(
        `INSERT INTO undeleted (key, attempts, last_error, next_attempt_at) VALUES (@key, 1, @error, @now + @delay)
         ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1, last_error = @error,
           next_attempt_at = @now + min(@delay * (1 << min(attempts, 16)), @maxDelay)`,
      ),
      deleted: db.prepare(`DELETE FROM undeleted WHERE key = ?`),
      listed: db.prepare(`INSERT OR IGNORE INTO listed (key) VALUES (?)`),
    };
  }

  /** The ETag of the version of `key` that was read completely, if any. */
  completedEtag(key: string): string | undefined {
    return this.stmts.completedEtag.get(key) as string | undefined;
  }

  /** Events of this object version acknowledged so far (0 for a different or unknown version). */
  acked(key: string, etag: string): number {
    return (this.stmts.partialAcked.get(key, etag) as number | undefined) ?? 0;
  }

  savePartial(key: string, etag: string, acked: number): void {
    this.stmts.savePartial.run(key, etag, acked);
  }

  /** Every event of this version was acknowledged. */
  complete(key: string, etag: string): void {
    this.db.transaction(() => {
      this.stmts.complete.run(key, etag, Date.now());
      this.stmts.dropPartial.run(key);
    })();
  }

  undeleted(key: string): UndeletedObject | undefined {
    return this.stmts.undeleted.get(key) as UndeletedObject | undefined;
  }

  /** Records a failed delete (the bucket is the state's own); the next attempt waits `delayMs`, doubling per failure up to `maxDelayMs`. */
  deleteFailed({ key }: ObjectRef, error: string, delayMs: number, maxDelayMs: number): UndeletedObject {
    this.stmts.deleteFailed.run({ key, error, now: Date.now(), delay: Math.round(delayMs), maxDelay: Math.round(maxDelayMs) });
    return this.undeleted(key)!;
  }

  deleted(key: string): void {
    this.stmts.deleted.run(key);
  }

  /** Starts recording the keys of one listing of the prefix. */
  beginListing(): void {
    this.db.exec(`DELETE FROM listed`);
  }

  listed(keys: readonly string[]): void {
    this.db.transaction(() => {
      for (const key of keys) this.stmts.listed.run(key);
    })();
  }

  /**
   * After a complete listing: forgets objects that are gone from the bucket
   * (deleted, expired by a lifecycle rule), so the tables stay as large as
   * the prefix rather than growing forever.
   */
  endListing(): void {
    this.db.transaction(() => {
      for (const table of ['completed', 'partial', 'undeleted']) this.db.exec(`DELETE FROM ${table} WHERE key NOT IN (SELECT key FROM listed)`);
    })();
    this.db.exec(`DELETE FROM listed`);
  }

  /** Counts for status(); `undeletedExample` is the read object whose delete failed most often. */
  summary(): { completed: number; partial: PartialObject[]; undeleted: number; undeletedExample: UndeletedObject | null } {
    return {
      completed: this.db.prepare(`SELECT count(*) FROM completed`).pluck().get() as number,
      partial: this.db.prepare(`SELECT key, etag, acked FROM partial ORDER BY key`).all() as PartialObject[],
      undeleted: this.db.prepare(`SELECT count(*) FROM undeleted`).pluck().get() as number,
      undeletedExample:
        (this.db.prepare(`SELECT key, attempts, last_error AS lastError, next_attempt_at AS nextAttemptAt FROM undeleted ORDER BY attempts DESC, key LIMIT 1`).get() as
          | UndeletedObject
          | undefined) ?? null,
    };
  }

  close(): void {
    this.db.close();
  }
}
