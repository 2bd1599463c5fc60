import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openPrivateDatabase } from '../../core/private-database.js';
import type { ObjectRef, UndeletedObject, UndeletedObjects } from '../s3/object-reader.js';

/** The one export task this source has asked for and not yet finished reading. */
export interface ExportTaskRow {
  /** Absent between the intent being recorded and CreateExportTask answering (a crash there leaves it absent). */
  taskId: string | null;
  taskName: string;
  group: string;
  /** The window, epoch ms, both ends included (as CreateExportTask reads `from` and `to`). */
  fromMs: number;
  toMs: number;
  /** Where the task writes: kept with the task so a config change does not lose it. */
  bucket: string;
  prefix: string;
}

export interface GroupRow {
  group: string;
  /** Every event before this (epoch ms) was exported and acknowledged; the next window starts here. */
  nextFromMs: number;
}

/**
 * A CloudWatch export source's progress, in `${dir}/state.sqlite`: per log
 * group where the next window starts, the one task in flight (so a restart
 * waits for it instead of creating a duplicate), and per object of that task
 * how many events were acknowledged. A window advances in the same
 * transaction that drops its task, so a crash repeats a window's unacknowledged
 * rest or nothing, and never skips one. Objects whose delete failed
 * (`undeleted`, deleteAfterAck only) outlive their task: the delete is retried
 * after the window advanced.
 */
export class CloudWatchExportState implements UndeletedObjects {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(dir: string) {
    this.file = join(dir, 'state.sqlite');
    const db = openPrivateDatabase(this.file, {
      synchronous: 'FULL',
      schema: `
        CREATE TABLE IF NOT EXISTS log_group (name TEXT PRIMARY KEY, next_from_ms INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS task (
          one INTEGER PRIMARY KEY CHECK (one = 1), task_id TEXT, task_name TEXT NOT NULL, log_group TEXT NOT NULL,
          from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL, bucket TEXT NOT NULL, prefix TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS task_object (key TEXT PRIMARY KEY, acked INTEGER NOT NULL, done INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS undeleted (
          key TEXT PRIMARY KEY, bucket TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL, next_attempt_at INTEGER NOT NULL);
      `,
    });
    this.db = db;
    this.stmts = {
      addGroup: db.prepare(`INSERT OR IGNORE INTO log_group (name, next_from_ms) VALUES (?, ?)`),
      groups: db.prepare(`SELECT name AS "group", next_from_ms AS nextFromMs FROM log_group ORDER BY next_from_ms, name`),
      task: db.prepare(
        `SELECT task_id AS taskId, task_name AS taskName, log_group AS "group", from_ms AS fromMs, to_ms AS toMs, bucket, prefix FROM task`,
      ),
      intend: db.prepare(
        `INSERT INTO task (one, task_id, task_name, log_group, from_ms, to_ms, bucket, prefix) VALUES (1, NULL, @taskName, @group, @fromMs, @toMs, @bucket, @prefix)`,
      ),
      created: db.prepare(`UPDATE task SET task_id = ?`),
      dropTask: db.prepare(`DELETE FROM task`),
      dropObjects: db.prepare(`DELETE FROM task_object`),
      advance: db.prepare(`UPDATE log_group SET next_from_ms = ? WHERE name = ?`),
      object: db.prepare(`SELECT acked, done FROM task_object WHERE key = ?`),
      saveObject: db.prepare(
        `INSERT INTO task_object (key, acked, done) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET acked = excluded.acked, done = excluded.done`,
      ),
      objectsDone: db.prepare(`SELECT count(*) FROM task_object WHERE done = 1`).pluck(),
      undeleted: db.prepare(`SELECT key, attempts, last_error AS lastError, next_attempt_at AS nextAttemptAt FROM undeleted WHERE key = ?`),
      undeletedDue: db.prepare(`SELECT bucket, key FROM undeleted WHERE next_attempt_at <= ? ORDER BY next_attempt_at`),
      undeletedCount: db.prepare(`SELECT count(*) FROM undeleted`).pluck(),
      deleteFailed: db.prepare(
        `INSERT INTO undeleted (key, bucket, attempts, last_error, next_attempt_at) VALUES (@key, @bucket, 1, @error, @now + @delay)
         ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1, last_error = @error,
           next_attempt_at = @now + min(@delay * (1 << min(attempts, 16)), @maxDelay)`,
      ),
      deleted: db.prepare(`DELETE FROM undeleted WHERE key = ?`),
    };
  }

  /** Records a group found by discovery; one already known keeps its progress. */
  addGroup(group: string, startMs: number): boolean {
    return this.stmts.addGroup.run(group, startMs).changes > 0;
  }

  /** Known groups, the furthest behind first. */
  groups(): GroupRow[] {
    return this.stmts.groups.all() as GroupRow[];
  }

  task(): ExportTaskRow | undefined {
    return this.stmts.task.get() as ExportTaskRow | undefined;
  }

  /** Records the window about to be exported before CreateExportTask, so a crash after it can find the task by name. */
  intend(task: Omit<ExportTaskRow, 'taskId'>): void {
    this.db.transaction(() => {
      this.stmts.dropObjects.run();
      this.stmts.intend.run(task);
    })();
  }

  created(taskId: string): void {
    this.stmts.created.run(taskId);
  }

  /** The task failed or was cancelled: its window is exported again by a new task. */
  abandonTask(): void {
    this.db.transaction(() => {
      this.stmts.dropTask.run();
      this.stmts.dropObjects.run();
    })();
  }

  /** Every object of the task was acknowledged: the group's next window starts after this one. */
  finishTask(task: ExportTaskRow): void {
    this.db.transaction(() => {
      this.stmts.advance.run(task.toMs + 1, task.group);
      this.stmts.dropTask.run();
      this.stmts.dropObjects.run();
    })();
  }

  /** Events of the running task's object acknowledged so far, and whether all were. */
  object(key: string): { acked: number; done: boolean } {
    const row = this.stmts.object.get(key) as { acked: number; done: number } | undefined;
    return { acked: row?.acked ?? 0, done: row?.done === 1 };
  }

  saveObject(key: string, acked: number, done: boolean): void {
    this.stmts.saveObject.run(key, acked, done ? 1 : 0);
  }

  objectsDone(): number {
    return this.stmts.objectsDone.get() as number;
  }

  undeleted(key: string): UndeletedObject | undefined {
    return this.stmts.undeleted.get(key) as UndeletedObject | undefined;
  }

  deleteFailed({ bucket, key }: ObjectRef, error: string, delayMs: number, maxDelayMs: number): UndeletedObject {
    this.stmts.deleteFailed.run({ key, bucket, error, now: Date.now(), delay: Math.round(delayMs), maxDelay: Math.round(maxDelayMs) });
    return this.undeleted(key)!;
  }

  deleted(key: string): void {
    this.stmts.deleted.run(key);
  }

  /** Objects whose delete is due for another attempt at `nowMs`. */
  undeletedDue(nowMs: number): ObjectRef[] {
    return this.stmts.undeletedDue.all(nowMs) as ObjectRef[];
  }

  undeletedCount(): number {
    return this.stmts.undeletedCount.get() as number;
  }

  close(): void {
    this.db.close();
  }
}
