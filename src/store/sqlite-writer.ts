import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { RetriableError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';
import { ROW_COLUMNS, writeFlatRows, type FlatRows } from './event-row.js';
import { packJson, transferList, type JsonBatch } from './json-batch.js';
import { fromWire, type WireError } from './sqlite-errors.js';

/** workerData of the writer thread. */
export interface WriterStart {
  path: string;
  busyTimeoutMs: number | undefined;
  location: string;
}

export type WriterRequest =
  | { op: 'insert'; id: number; rows: FlatRows }
  /** Events as their stored JSON: the thread parses them and makes the rows. */
  | ({ op: 'insert-json'; id: number } & JsonBatch)
  | { op: 'close' };

/** Id 0 answers the start: the file is open and migrated, or why not. */
export type WriterReply = { id: number; ok: true; inserted: number } | { id: number; ok: false; error: WireError };

interface Pending {
  resolve: (inserted: number) => void;
  reject: (err: Error) => void;
}

// Under tsx (tests, the sources run directly) this module is .ts and so is its worker. Node 20 does not
// apply `--import tsx` from a worker's execArgv before loading its entry, so the worker registers tsx itself.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCES ? './sqlite-writer-worker.ts' : './sqlite-writer-worker.js', import.meta.url);

/**
 * The writer thread's young generation, in MiB. Left to itself V8 grows it to
 * 32 MiB (two 16 MiB semi-spaces), all of it resident once allocation has
 * cycled through; the thread parses a chunk of events at a time (at most
 * 256 KiB of JSON), which dies young in a fraction of that. Measured: the
 * thread's heap 45 → 11 MiB, and no more CPU per event (docs/audit-store.md).
 */
const YOUNG_GENERATION_MIB = 4;

function startWorker(workerData: WriterStart): Worker {
  const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MIB };
  if (!FROM_SOURCES) return new Worker(WORKER_URL, { workerData, resourceLimits });
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const bootstrap = `import(${tsx}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits });
}

/** One writer thread; after it ended, the next call starts another. */
interface Thread {
  worker: Worker;
  /** Requests sent to this thread and not answered yet. */
  pending: Map<number, Pending>;
  started: Promise<void>;
  ended: boolean;
}

/**
 * Runs the SQLite store's writes in a worker thread (sqlite-writer-worker.ts)
 * so that they use another core than the event loop that accepts and queues
 * events. Started on first use and again after the thread died; a death
 * rejects the writes in flight with RetriableError, and the emitter retries
 * them from its queue. Inserts sent while the thread commits wait on its
 * port and share its next transaction (sqlite-writer-worker.ts); each still
 * gets its own answer.
 */
export class SqliteWriter {
  private current: Thread | undefined;
  private nextId = 1;

  constructor(private readonly start: WriterStart) {}

  /** Starts the thread, which opens the file and applies migrations, unless it runs already. */
  async ready(): Promise<void> {
    await this.thread();
  }

  /**
   * Resolves with the number of events newly stored, once the transaction
   * committed. The rows are made here (an event that cannot be stored throws
   * InvalidEventError before anything is sent): plain values are several times
   * cheaper to copy to the thread than the events' nested objects.
   */
  async insert(events: readonly AuditEvent[]): Promise<number> {
    const rows = await flatRows(events);
    return this.request((id) => ({ op: 'insert', id, rows }));
  }

  /**
   * Like insert, for events given as their JSON (the journal's stored bytes):
   * parsing them and making their rows happen in the writer thread, and the
   * bytes are moved there rather than copied field by field. Content that
   * cannot be stored, unparseable bytes included, rejects with InvalidEventError.
   */
  insertJson(payloads: readonly Buffer[]): Promise<number> {
    const batch = packJson(payloads);
    return this.request((id) => ({ op: 'insert-json', id, ...batch }), transferList(batch));
  }

  /** Posts one insert to the thread (started if need be) and resolves with its answer. */
  private async request(made: (id: number) => WriterRequest, transfer: ArrayBuffer[] = []): Promise<number> {
    const thread = await this.thread();
    if (thread.ended) throw this.endedError('exited');
    const id = this.nextId++;
    const done = expect(thread, id);
    thread.worker.postMessage(made(id), transfer);
    return done;
  }

  /** Ends the thread after it closed the file; the caller has waited for its inserts first. */
  async close(): Promise<void> {
    const thread = this.current;
    this.current = undefined;
    if (!thread || thread.ended) return;
    const exited = once(thread.worker, 'exit');
    thread.worker.ref();
    thread.worker.postMessage({ op: 'close' } satisfies WriterRequest);
    await exited;
  }

  private thread(): Promise<Thread> {
    const thread = (this.current ??= this.spawn());
    return thread.started.then(() => thread);
  }

  private spawn(): Thread {
    const worker = startWorker(this.start);
    const thread: Thread = { worker, pending: new Map(), started: Promise.resolve(), ended: false };
    let threadError: Error | undefined;
    worker.on('message', (message: WriterReply) => {
      const pending = thread.pending.get(message.id);
      if (!pending) return;
      thread.pending.delete(message.id);
      idleUnlessPending(thread);
      if (message.ok) pending.resolve(message.inserted);
      else pending.reject(fromWire(message.error));
    });
    worker.on('error', (err) => (threadError = err));
    worker.on('exit', (code) => {
      thread.ended = true;
      if (this.current === thread) this.current = undefined;
      const err = this.endedError(threadError ? threadError.message : `exit code ${code}`);
      for (const pending of thread.pending.values()) pending.reject(err);
      thread.pending.clear();
    });
    thread.started = expect(thread, 0).then(
      () => undefined,
      (err: unknown) => {
        // Could not open or migrate: the next call starts afresh, as reopening the file would.
        if (this.current === thread) this.current = undefined;
        void worker.terminate();
        throw err;
      },
    );
    return thread;
  }

  private endedError(why: string): RetriableError {
    return new RetriableError(`audit store ${this.start.location}: writer thread ended (${why})`, { code: 'STORE_WRITER_EXITED' });
  }
}

/**
 * Events turned into rows per turn of the event loop (about 5 ms of CPU per
 * 1 000 events): a batch of thousands must not hold HTTP and timers for all of it.
 */
const ROWS_PER_TURN = 500;

async function flatRows(events: readonly AuditEvent[]): Promise<FlatRows> {
  const flat: FlatRows = new Array(events.length * ROW_COLUMNS.length);
  for (let from = 0; from < events.length; from += ROWS_PER_TURN) {
    if (from > 0) await new Promise((resolve) => setImmediate(resolve));
    writeFlatRows(events, from, Math.min(events.length, from + ROWS_PER_TURN), flat);
  }
  return flat;
}

function expect(thread: Thread, id: number): Promise<number> {
  thread.worker.ref();
  return new Promise<number>((resolve, reject) => thread.pending.set(id, { resolve, reject }));
}

/** An idle writer must not keep the process alive; one with work in flight must. */
function idleUnlessPending(thread: Thread): void {
  if (thread.pending.size === 0) thread.worker.unref();
}
