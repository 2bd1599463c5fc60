/**
 * The SQLite audit store's writer thread (started by sqlite-writer.ts): owns
 * the one write connection, applies migrations on start and runs the insert
 * batches queued for it as one IMMEDIATE transaction, so the commit's CPU and
 * fsync happen off the main event loop, once for several batches.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { InvalidEventError } from '../core/errors.js';
import { ROW_COLUMNS, writeFlatRows, type FlatRows } from './event-row.js';
import { unpackEvents, type JsonBatch } from './json-batch.js';
import { classifySqliteError, toWire } from './sqlite-errors.js';
import { migrate, openSqlite } from './sqlite-schema.js';
import type { WriterReply, WriterRequest, WriterStart } from './sqlite-writer.js';

const port = parentPort!;
const { path, busyTimeoutMs, location } = workerData as WriterStart;

function reply(message: WriterReply): void {
  port.postMessage(message);
}

/**
 * An insert request as the worker holds it until its group committed: rows
 * made on the main thread, or events still as their JSON, parsed into rows a
 * few at a time inside the transaction.
 */
type Insert = { id: number; rows: FlatRows; json?: undefined } | ({ id: number; rows?: undefined } & JsonBatch);

/**
 * A JSON batch is parsed into rows a chunk at a time, inside the transaction:
 * at most this many events and, past the first, at most PARSE_CHUNK_BYTES of
 * JSON. A group holds up to GROUP_MAX_EVENTS events; parsed all at once,
 * their objects and strings (tens of MiB) outlived the young generation, were
 * promoted and grew this thread's old space, and the store spent 12 to 17 %
 * more CPU per event (docs/audit-store.md).
 */
const PARSE_CHUNK_EVENTS = 256;
const PARSE_CHUNK_BYTES = 256 * 1024;

/**
 * Events one transaction takes at most when several batches are queued. One
 * commit (and its fsync) then serves them all, and each index page they touch
 * is written once; the bound keeps a recommit after a refused row, and the
 * WAL between checkpoints, small.
 */
const GROUP_MAX_EVENTS = 20_000;

/**
 * One prepared INSERT, reused for every row; values bound by position, straight
 * from the flat rows. The returned function runs `group` as one IMMEDIATE
 * transaction and answers the rows each batch newly stored; when a row is
 * refused it throws, and `refused` names the batch whose row it was and the
 * row's index in it (undefined when the failure was the commit's).
 */
function prepareInsert(db: Database.Database): {
  insertGroup: (group: readonly Insert[], receivedAt: string) => number[];
  refused: () => { batch: number; row: number } | undefined;
} {
  const width = ROW_COLUMNS.length;
  const insertOne = db.prepare(
    `INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}, received_at)
     VALUES (${ROW_COLUMNS.map(() => '?').join(', ')}, ?)
     ON CONFLICT (id, source) DO NOTHING`,
  );
  const values: (string | number | null)[] = new Array(width + 1);
  const chunk: FlatRows = new Array(PARSE_CHUNK_EVENTS * width);
  let current = -1;
  let row = 0;
  /** Inserts `count` rows of `rows` from its start; the rows' indexes in their batch start at `first`. */
  const insertRows = (rows: FlatRows, first: number, count: number): number => {
    let n = 0;
    for (let r = 0; r < count; r++) {
      row = first + r;
      const at = r * width;
      for (let c = 0; c < width; c++) values[c] = rows[at + c] as string | number | null;
      n += insertOne.run(values).changes;
    }
    return n;
  };
  const insertJson = (batch: JsonBatch): number => {
    let n = 0;
    const { ends } = batch;
    for (let from = 0, to = 0; from < ends.length; from = to) {
      const start = from === 0 ? 0 : ends[from - 1]!;
      const last = Math.min(from + PARSE_CHUNK_EVENTS, ends.length);
      for (to = from + 1; to < last && ends[to]! - start <= PARSE_CHUNK_BYTES; to++);
      try {
        writeFlatRows(unpackEvents(batch, from, to), 0, to - from, chunk);
      } catch (err) {
        // Refused before it reached SQLite: named like a row SQLite refused, with its index in the batch.
        if (err instanceof InvalidEventError && err.index !== undefined) row = from + err.index;
        throw err;
      }
      n += insertRows(chunk, from, to - from);
    }
    return n;
  };
  const transaction = db.transaction((group: readonly Insert[], receivedAt: string) => {
    const inserted: number[] = [];
    values[width] = receivedAt;
    for (current = 0; current < group.length; current++) {
      const request = group[current]!;
      inserted.push(request.rows ? insertRows(request.rows, 0, request.rows.length / width) : insertJson(request));
    }
    // Past the last batch: a failure now (the COMMIT) belongs to the whole group.
    current = -1;
    return inserted;
  });
  return {
    insertGroup: (group, receivedAt) => {
      current = -1;
      return transaction.immediate(group, receivedAt);
    },
    refused: () => (current < 0 ? undefined : { batch: current, row }),
  };
}

/**
 * Commits `group` and answers each of its batches. A row refused for its
 * content fails only its own batch, with the row's index in it: the
 * transaction is rolled back and the others are committed again without it,
 * so a neighbour's bad event is never another batch's outcome. Any other
 * error (busy, disk full) is the same for every batch, and each is answered
 * with it. Returns the rows stored.
 */
function commitGroup(insert: ReturnType<typeof prepareInsert>, group: Insert[]): number {
  let remaining = group;
  // Each round either commits or answers every batch left, or answers and drops one refused batch.
  for (;;) {
    try {
      const inserted = insert.insertGroup(remaining, new Date().toISOString());
      remaining.forEach((request, i) => reply({ id: request.id, ok: true, inserted: inserted[i]! }));
      return inserted.reduce((sum, n) => sum + n, 0);
    } catch (err) {
      const error = classifySqliteError(err, location);
      const refused = insert.refused();
      if (error instanceof InvalidEventError && refused) {
        reply({ id: remaining[refused.batch]!.id, ok: false, error: { ...toWire(error), index: refused.row } });
        remaining = remaining.filter((_, i) => i !== refused.batch);
        if (remaining.length === 0) return 0;
        continue;
      }
      for (const request of remaining) reply({ id: request.id, ok: false, error: toWire(error) });
      return 0;
    }
  }
}

/** Rows in a batch. */
function events(request: Insert): number {
  return request.rows ? request.rows.length / ROW_COLUMNS.length : request.ends.length;
}

/**
 * WAL bytes not yet copied into the database file at which the writer runs a
 * checkpoint. A checkpoint copies each page changed since the last one once,
 * however often it changed, so a longer span copies fewer pages per event; a
 * bound in bytes rather than events lets large transactions, which write
 * fewer pages per event, go longer between checkpoints (about 23 000 events
 * in 5 000-event ones, against 9 000 in 500-event ones) while the WAL, and
 * what a crash replays, stays as large as 10 000 events in 500-event
 * transactions made it before (docs/audit-store.md).
 */
const CHECKPOINT_WAL_BYTES = 64 * 1024 * 1024;

/**
 * The WAL file keeps its largest size unless told otherwise: after a spike
 * (a migration rebuilding indexes, a reader holding a snapshot through many
 * commits) SQLite truncates it back to this when it next starts over. Above
 * CHECKPOINT_WAL_BYTES and a group, so the usual cycle never truncates and regrows it.
 */
const WAL_SIZE_LIMIT_BYTES = 128 * 1024 * 1024;

let db: Database.Database | undefined;
try {
  db = openSqlite(path, busyTimeoutMs, 'writer');
  migrate(db, location);
  // Checkpoints run after the answers below instead of inside a commit, so the
  // emitter prepares its next batch meanwhile rather than waiting for them.
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const insert = prepareInsert(db);
  const open = db;
  const waiting: Insert[] = [];
  let closing = false;
  // NOOP only reads the WAL's counts: frames in it, and of those already copied.
  const uncopiedWalBytes = (): number => {
    const [{ log, checkpointed }] = open.pragma('wal_checkpoint(NOOP)') as [{ log: number; checkpointed: number }];
    return (log - checkpointed) * pageSize;
  };
  const take = (request: WriterRequest): void => {
    if (request.op === 'close') closing = true;
    else if (request.op === 'insert') waiting.push({ id: request.id, rows: request.rows });
    else waiting.push({ id: request.id, json: request.json, ends: request.ends });
  };
  // Batches sent while the previous group committed wait on the port: taking
  // them now puts them in the next group instead of one transaction each.
  const takeQueued = (): void => {
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) take(next.message as WriterRequest);
  };
  port.on('message', (request: WriterRequest) => {
    take(request);
    takeQueued();
    while (waiting.length > 0) {
      // The first batch always goes, however large; others join while the group stays within its bound.
      let size = events(waiting[0]!);
      let count = 1;
      while (count < waiting.length && size + events(waiting[count]!) <= GROUP_MAX_EVENTS) size += events(waiting[count++]!);
      if (commitGroup(insert, waiting.splice(0, count)) > 0) {
        try {
          // PASSIVE never waits for readers; what it cannot copy now, a later one will.
          if (uncopiedWalBytes() >= CHECKPOINT_WAL_BYTES) open.pragma('wal_checkpoint(PASSIVE)');
        } catch {
          // Like SQLite's own autocheckpoint, a failed checkpoint is not the insert's failure.
        }
      }
      takeQueued();
    }
    if (closing) {
      // The store sends close only after its inserts were answered; any queued before it committed above.
      open.close();
      port.close();
    }
  });
  reply({ id: 0, ok: true, inserted: 0 });
} catch (err) {
  db?.close();
  // Nothing listens on the port any more, so the thread ends after this reply.
  reply({ id: 0, ok: false, error: toWire(classifySqliteError(err, location)) });
}
