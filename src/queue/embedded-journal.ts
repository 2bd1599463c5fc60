import { copyFileSync, closeSync, fdatasyncSync, ftruncateSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage } from '../core/errors.js';
import { makePrivateDirSync, PRIVATE_FILE_MODE, syncDirectorySync } from '../core/private-files.js';
import { EntryCache, type KeepObject, type KeptEntry } from './entry-cache.js';
import { QueueFullError, QueueWriteError } from './errors.js';
import type { AppendOptions, AppendOutcome, DestinationOptions, DestinationQueue, Journal, JournalAppend, JournalEntry } from './journal.js';
import {
  decodeRecord,
  encodeRouteSet,
  eventRecordLength,
  type EventRecordFields,
  isSegmentHeader,
  SEGMENT_HEADER_BYTES,
  MAX_FIELD_BYTES,
  SEGMENT_MAGIC,
  segmentHeader,
  writeEventRecord,
} from './journal-record.js';
import { type DestinationPosition, JournalState } from './journal-state.js';
import { PendingList } from './pending-list.js';

/** The group commit's write buffer: written out each time it fills, one write call per MiB. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** A segment is closed for writing once it reaches this size (docs/journal.md). */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * Retry-After for a destination at its cap. It drains a batch at a time, so a
 * second is enough to find out whether room was made; producers back off
 * further on repeated 429s.
 */
const RETRY_AFTER_SEC = 1;

/** Read a run of a segment in one call when the entries fill at least half of it (or it is small). */
const SMALL_READ_BYTES = 1024 * 1024;

/**
 * Bytes of recent event records kept in memory for the destinations still to
 * read them (EntryCache), its bookkeeping and the event objects it keeps
 * counted: about 19 000 events of 300 bytes with their objects, or about
 * 54 000 without them (records only readers of stored bytes take, as with
 * the default config). Counting the objects against the 8 MiB this was when only
 * payloads were counted (about 19 000 such events) held a third as many
 * entries, and a destination a few seconds behind (the audit store at 4 and
 * 16 connections) read and parsed its records back from disk: 15 % more CPU
 * per event (docs/benchmarks.md).
 */
export const DEFAULT_CACHE_BYTES = 24 * 1024 * 1024;

/** How soon a failed position save (disk full) is tried again. */
const STATE_RETRY_MS = 1000;

const SEGMENT_FILE = /^segment-(\d{12})\.log$/;
const segmentName = (n: number) => `segment-${String(n).padStart(12, '0')}.log`;

export interface EmbeddedJournalOptions {
  /** `<dataDir>/journal`. */
  dir: string;
  segmentBytes?: number;
  /** Cap of the in-memory cache of recent records (0: every read goes to the segment file). */
  cacheBytes?: number;
  logger: Logger;
  registry?: Registry;
}

class Segment {
  /** Pending (event, destination) pairs in this segment: at 0 (and not written to) the file goes. */
  refs = 0;
  writing = false;
  deleted = false;
  handle: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  reads = 0;
  /** A write that failed left bytes past this: cut them before the next write. */
  truncateTo: number | undefined;

  constructor(
    readonly num: number,
    readonly path: string,
    public size: number,
  ) {}

  async reader(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    this.opening ??= open(this.path, 'r').then((h) => (this.handle = h));
    return this.opening;
  }

  async closeHandle(): Promise<void> {
    const h = this.handle ?? (await this.opening?.catch(() => undefined));
    this.handle = undefined;
    this.opening = undefined;
    await h?.close().catch(() => undefined);
  }
}

/** Where one pending record sits in the segment files. */
interface RecordRef {
  seq: number;
  seg: number;
  offset: number;
  length: number;
  enqueuedAt: number;
}

/** A record as read, before the attempt count of the destination reading it. */
type StoredEntry = Omit<JournalEntry, 'attempts'>;

interface PendingAppend {
  items: readonly JournalAppend[];
  ignoreCaps: boolean;
  resolve: (r: AppendOutcome) => void;
  reject: (err: unknown) => void;
}

class Destination implements DestinationQueue {
  readonly pending = new PendingList();
  maxBytes = Number.POSITIVE_INFINITY;
  whenFull: 'block' | 'dropOldest' = 'block';
  /** Registered by the pipeline; false for a backlog recovery found that nobody claimed (yet). */
  registered = false;
  /** Bytes of appends being written for it: counted against its cap before they land. */
  reserved = 0;
  readonly attempts = new Map<number, number>();
  onAppend: (() => void) | undefined;
  onDrop: ((seqs: number[]) => void) | undefined;
  private storedBytesOnly = false;
  wakeScheduled = false;

  constructor(
    readonly id: string,
    private readonly journal: EmbeddedJournal,
  ) {}

  get readsStoredBytes(): boolean {
    return this.storedBytesOnly;
  }

  set readsStoredBytes(value: boolean) {
    this.storedBytesOnly = value;
    this.journal.destinationsChanged();
  }

  get depth(): number {
    return this.pending.count;
  }

  get bytes(): number {
    return this.pending.bytes;
  }

  oldestAgeMs(now = Date.now()): number {
    const i = this.pending.first();
    return i === -1 ? 0 : Math.max(0, now - this.pending.enqueuedAt(i));
  }

  read(maxEvents: number, maxBytes: number, afterSeq?: number): Promise<JournalEntry[]> {
    return this.journal.readFor(this, maxEvents, maxBytes, afterSeq);
  }

  ack(seqs: readonly number[]): void {
    this.journal.ackFor(this, seqs);
  }

  recordAttempt(seqs: readonly number[]): void {
    for (const s of seqs) this.attempts.set(s, (this.attempts.get(s) ?? 0) + 1);
  }
}

/**
 * The embedded journal: append-only segment files under `<dataDir>/journal`,
 * shared by every destination, and one small SQLite file with each
 * destination's position. Appends arriving while a write is under way are
 * written together next (group commit): one write and one fdatasync, on
 * libuv's thread pool, for every event of every destination. Design, format
 * and recovery: docs/journal.md.
 */
export class EmbeddedJournal implements Journal {
  private readonly segments = new Map<number, Segment>();
  private readonly destinations = new Map<string, Destination>();
  /** Memo of someRegisteredReadsObjects; undefined after a change of the destinations. */
  private someReadObjects: boolean | undefined;
  private active: Segment | undefined;
  /** Route sets defined in the active segment, by their key. */
  private activeRouteSets = new Map<string, number>();
  private queued: PendingAppend[] = [];
  private writing: Promise<void> | undefined;
  private scheduled = false;
  private readonly dirty = new Set<string>();
  /**
   * Destinations removed since the last save, with the highest seq handed out
   * when they were: their row is saved as done through it rather than
   * deleted, or a restart would find their released events in the segments
   * that outlive them and give them back (to an emitter of that name, or to
   * nobody, pinning those segments for good).
   */
  private readonly removedThrough = new Map<string, number>();
  private stateScheduled = false;
  private stateRetry: NodeJS.Timeout | undefined;
  private stateFailing = false;
  private closed = false;
  readonly movedAside: string[] = [];
  private readonly segmentBytes: number;
  /** Every seq up to this is in the backlogs of the destinations that take it (seqs of the write under way are above). */
  private committedSeq = 0;
  private readonly cache: EntryCache;
  /** Group commits are encoded into this, one at a time (writeRecords). */
  private writeBuffer: Buffer | undefined;
  /** Records being read from a segment file, by seq: a second destination asking for one waits for that read. */
  private readonly reading = new Map<number, Promise<StoredEntry>>();

  private constructor(
    private readonly dir: string,
    private readonly state: JournalState,
    private readonly logger: Logger,
    private nextSegment: number,
    private nextSeq: number,
    segmentBytes: number,
    cacheBytes: number,
  ) {
    this.segmentBytes = segmentBytes;
    this.cache = new EntryCache(cacheBytes);
  }

  /**
   * Opens the journal and rebuilds every destination's backlog from the
   * segments. A torn tail (a write cut short by a crash: never acknowledged)
   * is cut off; a segment unreadable in the middle is copied aside, reported
   * and cut at its last good record; start-up never blocks on either.
   */
  static open(opts: EmbeddedJournalOptions): EmbeddedJournal {
    const { dir, logger } = opts;
    // A segment's creation syncs `dir`; the name of a `dir` made here lives in its parent.
    for (const made of makePrivateDirSync(dir)) syncDirectorySync(dirname(made));
    const state = new JournalState(join(dir, 'state.db'));
    const positions = state.load();
    const done = new Map<string, { through: number; above: Set<number> }>();
    let maxSeq = 0;
    for (const [id, p] of positions) {
      done.set(id, { through: p.ackedThrough, above: new Set(p.doneAbove) });
      maxSeq = Math.max(maxSeq, p.ackedThrough, ...p.doneAbove);
    }
    const files = readdirSync(dir)
      .map((f) => SEGMENT_FILE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[0], num: Number(m[1]) }))
      .sort((a, b) => a.num - b.num);
    const journal = new EmbeddedJournal(dir, state, logger, (files.at(-1)?.num ?? 0) + 1, 0, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES, opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    const corrupt = opts.registry
      ? new Counter({ name: 'auditstream_journal_corrupt_segments_total', help: 'Journal segments found unreadable at start and moved (copied) aside.', registers: [opts.registry] })
      : undefined;
    files.forEach(({ name, num }, k) => {
      const path = join(dir, name);
      const last = k === files.length - 1;
      const buf = readFileSync(path);
      if (!isSegmentHeader(buf)) {
        if (last && buf.length < SEGMENT_HEADER_BYTES && SEGMENT_MAGIC.subarray(0, buf.length).equals(buf.subarray(0, SEGMENT_MAGIC.length))) {
          // Created by a crashed process before its header was synced: no record was ever acknowledged in it.
          unlinkSync(path);
          return;
        }
        const movedTo = `${path}.corrupt-${Date.now()}`;
        renameSync(path, movedTo);
        journal.movedAside.push(movedTo);
        corrupt?.inc();
        logger.error({ file: path, movedTo }, 'journal segment unreadable (not a journal segment); moved aside, the other segments are kept');
        return;
      }
      const seg = new Segment(num, path, buf.length);
      const routeSets = new Map<number, string[]>();
      let at = SEGMENT_HEADER_BYTES;
      let problem: string | undefined;
      let torn = false;
      while (at < buf.length) {
        const r = decodeRecord(buf, at);
        if (!r.ok) {
          problem = r.reason;
          // What an interrupted write leaves: a record cut short, or space the file system allocated but never filled.
          torn = r.incomplete || isZeros(buf, at);
          break;
        }
        const rec = r.record;
        if (rec.kind === 'routeSet') routeSets.set(rec.routeSetId, rec.destinations);
        else {
          const dests = routeSets.get(rec.routeSetId);
          if (!dests) {
            problem = `event ${rec.seq} names route set ${rec.routeSetId}, which the segment does not define`;
            break;
          }
          maxSeq = Math.max(maxSeq, rec.seq);
          for (const id of dests) {
            const d = done.get(id);
            if (d && (rec.seq <= d.through || d.above.has(rec.seq))) continue;
            journal.destinationFor(id).pending.push(rec.seq, num, at, rec.length, rec.payload.length, rec.enqueuedAt);
            seg.refs += 1;
          }
        }
        at += rec.length;
      }
      if (problem !== undefined) {
        const cut = buf.length - at;
        if (last && torn) {
          logger.warn({ file: path, offset: at, bytes: cut, problem }, 'journal: cut a torn tail (a write the crash interrupted; never acknowledged)');
        } else {
          const movedTo = `${path}.corrupt-${Date.now()}`;
          copyFileSync(path, movedTo);
          syncFile(movedTo);
          journal.movedAside.push(movedTo);
          corrupt?.inc();
          logger.error(
            { file: path, movedTo, offset: at, bytesLost: cut, problem },
            'journal segment unreadable in the middle; a copy was moved aside, the records before the damage are kept and delivered, the other segments are kept',
          );
        }
        truncateFile(path, at);
        seg.size = at;
      }
      if (seg.refs === 0) unlinkSync(path);
      else journal.segments.set(num, seg);
    });
    journal.nextSeq = maxSeq + 1;
    journal.committedSeq = maxSeq;
    if (opts.registry) journal.registerGauges(opts.registry);
    return journal;
  }

  private registerGauges(registry: Registry): void {
    const segments = this.segments;
    new Gauge({
      name: 'auditstream_journal_segments',
      help: 'Journal segment files on disk.',
      registers: [registry],
      collect() {
        this.set(segments.size);
      },
    });
    new Gauge({
      name: 'auditstream_journal_bytes',
      help: 'Bytes of the journal segment files on disk.',
      registers: [registry],
      collect() {
        let n = 0;
        for (const s of segments.values()) n += s.size;
        this.set(n);
      },
    });
  }

  private destinationFor(id: string): Destination {
    let d = this.destinations.get(id);
    if (!d) {
      d = new Destination(id, this);
      this.destinations.set(id, d);
    }
    return d;
  }

  addDestination(id: string, opts: DestinationOptions): DestinationQueue {
    const d = this.destinationFor(id);
    d.maxBytes = opts.maxBytes;
    d.whenFull = opts.whenFull;
    d.registered = true;
    this.destinationsChanged();
    return d;
  }

  /** A destination was added, removed, or changed what it reads: whether some registered one reads objects is asked again. */
  destinationsChanged(): void {
    this.someReadObjects = undefined;
  }

  /** Whether some registered destination reads objects; walked once per change of the destinations, not per read. */
  private someRegisteredReadsObjects(): boolean {
    if (this.someReadObjects === undefined) {
      this.someReadObjects = false;
      for (const d of this.destinations.values()) {
        if (d.registered && !d.readsStoredBytes) {
          this.someReadObjects = true;
          break;
        }
      }
    }
    return this.someReadObjects;
  }

  removeDestination(id: string): void {
    const d = this.destinations.get(id);
    if (!d) return;
    for (const i of [...d.pending.live()]) this.release(d, d.pending.seq(i));
    this.destinations.delete(id);
    this.destinationsChanged();
    // Seqs of the write under way are handed out already: they are covered too.
    this.removedThrough.set(id, this.nextSeq - 1);
    this.dirty.add(id);
    this.scheduleStateSave();
  }

  unclaimed(): string[] {
    return [...this.destinations.values()].filter((d) => !d.registered && d.depth > 0).map((d) => d.id);
  }

  append(items: readonly JournalAppend[], opts: AppendOptions = {}): Promise<AppendOutcome> {
    if (this.closed) return Promise.reject(new QueueWriteError('the journal', new Error('the journal is closed')));
    if (items.length === 0) return Promise.resolve({ seqs: [], refused: new Map() });
    // Checked here, not in the group commit: one bad append must not fail the others written with it.
    for (const item of items) {
      const problem = fieldProblem('event id', item.eventId) ?? (item.partitionKey === null ? undefined : fieldProblem('partition key', item.partitionKey));
      if (problem) return Promise.reject(new QueueWriteError('the journal', Object.assign(new RangeError(problem), { code: 'JOURNAL_FIELD' })));
    }
    return new Promise((resolve, reject) => {
      this.queued.push({ items, resolve, reject, ignoreCaps: opts.ignoreCaps === true });
      this.scheduleWrite();
    });
  }

  private scheduleWrite(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // One turn later: every append made in this turn joins the same write.
    setImmediate(() => {
      this.scheduled = false;
      if (!this.writing && this.queued.length > 0) this.writing = this.write().finally(() => this.afterWrite());
    });
  }

  private afterWrite(): void {
    this.writing = undefined;
    if (this.queued.length > 0) this.scheduleWrite();
  }

  /** One group commit: caps, encoding, one write, one fdatasync, then the backlogs. */
  private async write(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    const now = Date.now();
    const plans = batch.map((p) => this.reserve(p));
    const definedHere: string[] = [];
    try {
      const seg = await this.writableSegment();
      // Route-set definitions as they are, events as fields: sized first, then encoded into the write buffer.
      const chunks: (Buffer | EventRecordFields)[] = [];
      const lengths: number[] = [];
      let bytes = 0;
      const placed: { seq: number; item: JournalAppend; dests: readonly string[]; keepEvent: boolean; offset: number; length: number }[] = [];
      // The router hands every event of a (tenant, type) the same list: its key is made once, not a string per event.
      let lastDests: readonly string[] | undefined;
      let lastKey = '';
      let lastKeepEvent = true;
      const seqs = plans.map((plan, k) =>
        batch[k]!.items.map((item) => {
          const dests = plan.refused.size === 0 ? item.destinations : item.destinations.filter((d) => !plan.refused.has(d));
          if (dests.length === 0) return undefined;
          if (dests !== lastDests) {
            lastDests = dests;
            lastKey = dests.join('\n');
            lastKeepEvent = this.readsObjects(dests);
          }
          const key = lastKey;
          let routeSetId = this.activeRouteSets.get(key);
          if (routeSetId === undefined) {
            routeSetId = this.activeRouteSets.size;
            this.activeRouteSets.set(key, routeSetId);
            definedHere.push(key);
            const def = encodeRouteSet(routeSetId, dests);
            chunks.push(def);
            lengths.push(def.length);
            bytes += def.length;
          }
          const seq = this.nextSeq++;
          const fields: EventRecordFields = { seq, enqueuedAt: now, routeSetId, eventId: item.eventId, partitionKey: item.partitionKey, payload: item.payload };
          const length = eventRecordLength(fields);
          chunks.push(fields);
          lengths.push(length);
          placed.push({ seq, item, dests, keepEvent: lastKeepEvent, offset: seg.size + bytes, length });
          bytes += length;
          return seq;
        }),
      );
      const start = seg.size;
      // Encoded into a buffer of its own when the cache keeps it: the block it then holds, no copy. Not when every record
      // is kept as an entry: the appended objects keep the JSON they were made from, and a block would be a second copy.
      const asEntries = placed.every((p) => p.keepEvent);
      // Never from Buffer's shared 8 KiB pool: a small block would keep a whole slab, which the cache does not count.
      const block = bytes > 0 && !asEntries && this.cache.fits(bytes, placed.length) ? Buffer.allocUnsafeSlow(bytes) : undefined;
      if (bytes > 0) {
        try {
          if (block) {
            encodeRecords(block, chunks);
            await writeAll(seg.handle!, block, start);
          } else {
            await this.writeRecords(seg.handle!, chunks, lengths, start);
          }
          await seg.handle!.datasync();
        } catch (err) {
          // Bytes past `start` may be on disk, whole records among them (the commit goes out in chunks): cut them now, so
          // a refused commit's events do not come back after a restart; if the cut fails too, before the next write.
          seg.truncateTo = start;
          await cutBack(seg).catch(() => undefined);
          throw err;
        }
        seg.size = start + bytes;
      }
      // Seqs of a failed write are never used again; a gap is harmless.
      this.committedSeq = this.nextSeq - 1;
      // Only now, on disk: a refused commit's records are never in the cache, whatever its cut leaves.
      const kept = (p: (typeof placed)[number]): KeptEntry => ({ eventId: p.item.eventId, partitionKey: p.item.partitionKey, enqueuedAt: now, payload: p.item.payload, event: p.item.event });
      // The commit is durable from here: the cache is an optimisation, and its failure (memory for its index) must not refuse it.
      try {
        if (block) {
          this.cache.putBlock(
            block,
            placed.map((p) => p.seq),
            placed.map((p) => p.offset - start),
            placed.map((p): KeepObject => (p.keepEvent ? kept(p) : undefined)),
          );
        } else if (asEntries) {
          this.cache.putEntries(
            placed.map((p) => p.seq),
            placed.map(kept),
          );
        }
      } catch (err) {
        this.logger.warn({ err: errorMessage(err) }, 'journal entry cache could not keep a commit; its records are read from disk');
      }
      const touched = new Set<Destination>();
      for (const p of placed) {
        for (const id of p.dests) {
          // Removed while this commit was written: its events are released with the rest of its backlog.
          const d = this.destinations.get(id);
          if (!d) continue;
          d.pending.push(p.seq, seg.num, p.offset, p.length, p.item.payload.length, now);
          seg.refs += 1;
          touched.add(d);
        }
      }
      for (const d of touched) {
        if (d.whenFull === 'dropOldest' && d.pending.bytes > d.maxBytes) this.dropOldest(d);
        this.wake(d);
      }
      batch.forEach((p, k) => p.resolve({ seqs: seqs[k]!, refused: plans[k]!.refused }));
    } catch (err) {
      for (const key of definedHere) this.activeRouteSets.delete(key);
      const error = err instanceof QueueWriteError ? err : new QueueWriteError('the journal', err);
      this.logger.error({ err: error.message }, 'journal write failed; the events were not acknowledged');
      for (const p of batch) p.reject(error);
    } finally {
      for (const plan of plans) for (const [d, n] of plan.reserved) d.reserved -= n;
      const seg = this.active;
      if (seg && seg.size >= this.segmentBytes && seg.truncateTo === undefined) this.roll(seg);
    }
  }

  /**
   * Encodes the records into the reused write buffer and writes it each time
   * it fills, for a commit the cache will not keep: a Buffer of the whole
   * commit would live through the write and fsync, get promoted, and be freed
   * only by a full GC, for nothing.
   */
  private async writeRecords(fh: FileHandle, chunks: readonly (Buffer | EventRecordFields)[], lengths: readonly number[], position: number): Promise<void> {
    const buf = (this.writeBuffer ??= Buffer.allocUnsafe(WRITE_BUFFER_BYTES));
    let at = 0;
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k]!;
      const length = lengths[k]!;
      if (length > buf.length - at && at > 0) {
        await writeAll(fh, buf.subarray(0, at), position);
        position += at;
        at = 0;
      }
      if (length > buf.length) {
        // Larger than the whole buffer: this record alone, in a buffer of its own.
        let one = c;
        if (!Buffer.isBuffer(one)) {
          one = Buffer.allocUnsafe(length);
          writeEventRecord(one, 0, c as EventRecordFields);
        }
        await writeAll(fh, one, position);
        position += length;
        continue;
      }
      at = Buffer.isBuffer(c) ? at + c.copy(buf, at) : writeEventRecord(buf, at, c);
    }
    if (at > 0) await writeAll(fh, buf.subarray(0, at), position);
  }

  /**
   * Whether a destination among `dests` reads event objects, so the cache
   * should keep an appended object beside its bytes. Where none does (the
   * default config's log and SQLite store take the stored bytes), the object
   * is not kept: everything the cache holds outlives the young generation, is
   * promoted and then evicted, and the object took about twice the heap of
   * its bytes (docs/benchmarks.md §5).
   */
  private readsObjects(dests: readonly string[]): boolean {
    for (const id of dests) if (!this.destinations.get(id)?.readsStoredBytes) return true;
    return false;
  }

  /** Which destinations refuse this append (full under block), counting the rest against their caps. */
  private reserve(p: PendingAppend): { refused: Map<string, Error>; reserved: Map<Destination, number> } {
    const sizes = new Map<string, number>();
    for (const item of p.items) for (const id of item.destinations) sizes.set(id, (sizes.get(id) ?? 0) + item.payload.length);
    const refused = new Map<string, Error>();
    const reserved = new Map<Destination, number>();
    for (const [id, size] of sizes) {
      if (p.ignoreCaps) {
        this.destinationFor(id);
        continue;
      }
      const d = this.destinations.get(id);
      if (!d?.registered) {
        refused.set(id, new Error(`the journal has no destination "${id}"`));
        continue;
      }
      const over = d.pending.bytes + d.reserved + size > d.maxBytes;
      if (over && (d.whenFull === 'block' || size > d.maxBytes)) {
        refused.set(id, new QueueFullError(id, RETRY_AFTER_SEC));
        continue;
      }
      d.reserved += size;
      reserved.set(d, size);
    }
    return { refused, reserved };
  }

  private async writableSegment(): Promise<Segment> {
    const seg = this.active;
    if (seg) {
      await cutBack(seg);
      return seg;
    }
    const num = this.nextSegment;
    const path = join(this.dir, segmentName(num));
    const handle = await open(path, 'wx+', PRIVATE_FILE_MODE);
    try {
      await writeAll(handle, segmentHeader(num), 0);
      await handle.datasync();
      // The new file's name is in the directory: sync it, or a power cut could lose the file with acknowledged events in it.
      const d = await open(this.dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
    this.nextSegment += 1;
    const created = new Segment(num, path, SEGMENT_HEADER_BYTES);
    created.handle = handle;
    created.writing = true;
    this.segments.set(num, created);
    this.active = created;
    this.activeRouteSets = new Map();
    return created;
  }

  private roll(seg: Segment): void {
    seg.writing = false;
    this.active = undefined;
    this.activeRouteSets = new Map();
    this.maybeDelete(seg);
  }

  private dropOldest(d: Destination): void {
    const dropped: number[] = [];
    while (d.pending.bytes > d.maxBytes) {
      const i = d.pending.first();
      if (i === -1) break;
      const seq = d.pending.seq(i);
      this.release(d, seq);
      dropped.push(seq);
    }
    if (dropped.length === 0) return;
    this.logger.warn({ destination: d.id, dropped: dropped.length }, 'queue full: dropped oldest events (whenFull: dropOldest)');
    this.markDirty(d);
    d.onDrop?.(dropped);
  }

  private wake(d: Destination): void {
    if (d.wakeScheduled) return;
    d.wakeScheduled = true;
    // Not in the append's own turn: whoever waits for the append registers its delivery waiters first.
    setImmediate(() => {
      d.wakeScheduled = false;
      d.onAppend?.();
    });
  }

  /** @internal Destination.read. */
  async readFor(d: Destination, maxEvents: number, maxBytes: number, afterSeq?: number): Promise<JournalEntry[]> {
    const p = d.pending;
    const indexes = p.oldest(maxEvents, maxBytes, afterSeq);
    // Every record in the cache (a destination keeping up): the entries at once, without a ref, a read or a promise per entry.
    const hits: JournalEntry[] = [];
    for (const i of indexes) {
      const seq = p.seq(i);
      const hit = this.cache.entry(seq, d.attempts.get(seq) ?? 0);
      if (!hit) break;
      hits.push(hit);
    }
    if (hits.length === indexes.length) return hits;
    // Copied out now: the list may compact while the reads below are under way.
    const refs = indexes.map((i) => ({ seq: p.seq(i), seg: p.segment(i), offset: p.offset(i), length: p.length(i), enqueuedAt: p.enqueuedAt(i) }));
    const misses = refs.filter((ref) => !this.cache.has(ref.seq) && !this.reading.has(ref.seq));
    let k = 0;
    while (k < misses.length) {
      const first = misses[k]!;
      let j = k + 1;
      let useful = first.length;
      while (j < misses.length && misses[j]!.seg === first.seg) {
        const span = misses[j]!.offset + misses[j]!.length - first.offset;
        if (span > SMALL_READ_BYTES && span > 2 * (useful + misses[j]!.length)) break;
        useful += misses[j]!.length;
        j += 1;
      }
      this.startRead(misses.slice(k, j));
      k = j;
    }
    // Each entry is built once, for this destination (its own attempt count); only records being read are waited for.
    const out = await Promise.all(
      refs.map((ref, k) => {
        if (k < hits.length) return hits[k]!;
        const attempts = d.attempts.get(ref.seq) ?? 0;
        const hit = this.cache.entry(ref.seq, attempts);
        if (hit) return hit;
        return this.reading.get(ref.seq)!.then((stored): JournalEntry => ({ ...stored, attempts }));
      }),
    );
    // Dropped (whenFull: dropOldest) or released while a read was under way: not this destination's any more.
    return out.filter((entry) => p.has(entry.seq));
  }

  /**
   * Reads a run of records of one segment, once for every destination that
   * asks for any of them before it completes (they were appended together,
   * so their destinations ask at about the same time).
   */
  private startRead(run: readonly RecordRef[]): void {
    const first = run[0]!;
    const last = run[run.length - 1]!;
    const reading = this.readRange(first.seg, first.offset, last.offset + last.length - first.offset)
      .then((buf) => {
        const entries = run.map((ref) => decodeRef(ref, buf, first.offset));
        if (buf) this.cacheRead(buf, run, entries, first.offset);
        return entries;
      })
      .finally(() => {
        for (const ref of run) this.reading.delete(ref.seq);
      });
    run.forEach((ref, i) => this.reading.set(ref.seq, reading.then((entries) => entries[i]!)));
  }

  /**
   * The read buffer as it is becomes a block of the cache, its checked
   * records indexed. With a destination reading objects, each record keeps
   * the payload Buffer its first readers got (a view of the buffer), which
   * the emitters' one parse is keyed on.
   */
  private cacheRead(buf: Buffer, run: readonly RecordRef[], entries: readonly StoredEntry[], bufOffset: number): void {
    const seqs: number[] = [];
    const offsets: number[] = [];
    const good: StoredEntry[] = [];
    run.forEach((ref, i) => {
      if (entries[i]!.unreadable !== undefined) return;
      seqs.push(ref.seq);
      offsets.push(ref.offset - bufOffset);
      good.push(entries[i]!);
    });
    if (seqs.length === 0) return;
    // The records were read and checked: a cache failure (memory for its index) must not fail the read, as at a commit.
    try {
      this.cache.putBlock(buf, seqs, offsets, this.someRegisteredReadsObjects() ? good : undefined);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'journal entry cache could not keep a segment read; its records are read from disk again');
    }
  }

  private async readRange(num: number, offset: number, length: number): Promise<Buffer | undefined> {
    const seg = this.segments.get(num);
    if (!seg) return undefined;
    seg.reads += 1;
    try {
      const fh = await seg.reader();
      // It may become a cache block: not from the shared pool, whose slab the cache would not count.
      const buf = Buffer.allocUnsafeSlow(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } finally {
      seg.reads -= 1;
      if (seg.deleted && seg.reads === 0) void seg.closeHandle();
    }
  }

  /** @internal Destination.ack. */
  ackFor(d: Destination, seqs: readonly number[]): void {
    let any = false;
    for (const seq of seqs) any = this.release(d, seq) || any;
    if (any) this.markDirty(d);
  }

  /** Marks one (event, destination) pair done; the segment goes once it holds no pending pair. */
  private release(d: Destination, seq: number): boolean {
    const i = d.pending.markDone(seq);
    if (i === -1) return false;
    d.attempts.delete(seq);
    const seg = this.segments.get(d.pending.segment(i));
    if (seg) {
      seg.refs -= 1;
      this.maybeDelete(seg);
    }
    return true;
  }

  private maybeDelete(seg: Segment): void {
    if (seg.refs > 0 || seg.writing || seg.deleted) return;
    seg.deleted = true;
    this.segments.delete(seg.num);
    // A position not yet saved when the file goes only means redelivery of events that are gone: nothing is lost.
    unlink(seg.path).catch((err) => this.logger.warn({ file: seg.path, err: errorMessage(err) }, 'journal: could not delete a delivered segment'));
    if (seg.reads === 0) void seg.closeHandle();
  }

  private markDirty(d: Destination): void {
    this.dirty.add(d.id);
    this.scheduleStateSave();
  }

  private scheduleStateSave(): void {
    if (this.stateScheduled || this.stateRetry || this.closed) return;
    this.stateScheduled = true;
    setImmediate(() => {
      this.stateScheduled = false;
      if (!this.closed) this.saveState();
    });
  }

  /** Every destination acknowledged since the last save, in one commit. */
  private saveState(): void {
    if (this.dirty.size === 0) return;
    const rows = new Map<string, DestinationPosition>();
    for (const id of this.dirty) {
      const d = this.destinations.get(id);
      // Not registered again: removed (removeDestination is the one way a dirty destination goes).
      rows.set(id, d ? this.positionOf(d) : { ackedThrough: this.removedThrough.get(id)!, doneAbove: [] });
    }
    try {
      this.state.save(rows);
      this.dirty.clear();
      this.removedThrough.clear();
      if (this.stateFailing) this.logger.info('journal: destination positions saved again');
      this.stateFailing = false;
    } catch (err) {
      // Not saved: a restart now would deliver these events again, never lose them. Try again shortly.
      if (!this.stateFailing) this.logger.warn({ err: errorMessage(err) }, 'journal: cannot save destination positions; retrying (a restart meanwhile redelivers, loses nothing)');
      this.stateFailing = true;
      if (!this.closed) {
        this.stateRetry = setTimeout(() => {
          this.stateRetry = undefined;
          this.saveState();
        }, STATE_RETRY_MS);
        this.stateRetry.unref();
      }
    }
  }

  private positionOf(d: Destination): DestinationPosition {
    const i = d.pending.first();
    // Empty: every event written so far is either done for it or was never its own.
    if (i === -1) return { ackedThrough: this.committedSeq, doneAbove: [] };
    return { ackedThrough: d.pending.seq(i) - 1, doneAbove: d.pending.doneAbove() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.writing || this.queued.length > 0 || this.scheduled) {
      if (this.writing) await this.writing;
      else if (this.queued.length > 0) this.writing = this.write().finally(() => (this.writing = undefined));
      else await new Promise((r) => setImmediate(r));
    }
    this.closed = true;
    if (this.stateRetry) clearTimeout(this.stateRetry);
    this.stateRetry = undefined;
    this.saveState();
    for (const seg of this.segments.values()) {
      // Still refused: what is left is as after a crash mid-commit (a refused commit's records may be delivered: at least once).
      await cutBack(seg).catch(() => undefined);
      await seg.closeHandle();
    }
    this.state.close();
  }
}

/** Applies a segment's pending cut, best effort: what cannot be cut now is cut before the next write to it. */
/** Cuts a segment back to where a refused commit started; throws while the disk still refuses (truncateTo stays set). */
async function cutBack(seg: Segment): Promise<void> {
  if (seg.truncateTo === undefined || !seg.handle) return;
  await seg.handle.truncate(seg.truncateTo);
  await seg.handle.datasync();
  seg.size = seg.truncateTo;
  seg.truncateTo = undefined;
}

function decodeRef(ref: RecordRef, buf: Buffer | undefined, bufOffset: number): StoredEntry {
  const at = ref.offset - bufOffset;
  const r = buf ? decodeRecord(buf, at) : ({ ok: false, reason: `segment ${ref.seg} is gone`, incomplete: false } as const);
  if (r.ok && r.record.kind === 'event' && r.record.seq === ref.seq) {
    return { seq: ref.seq, eventId: r.record.eventId, partitionKey: r.record.partitionKey, enqueuedAt: r.record.enqueuedAt, payload: r.record.payload };
  }
  const reason = r.ok ? `expected event ${ref.seq} at offset ${ref.offset}` : r.reason;
  const raw = buf ? buf.subarray(at, at + ref.length) : Buffer.alloc(0);
  return { seq: ref.seq, eventId: `journal-seq-${ref.seq}`, partitionKey: null, enqueuedAt: ref.enqueuedAt, payload: raw, unreadable: `journal record unreadable: ${reason}` };
}

/** Encodes a whole commit into `out`, which is exactly its size. */
function encodeRecords(out: Buffer, chunks: readonly (Buffer | EventRecordFields)[]): void {
  let at = 0;
  for (const c of chunks) at = Buffer.isBuffer(c) ? at + c.copy(out, at) : writeEventRecord(out, at, c);
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    done += bytesWritten;
  }
}

function truncateFile(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, length);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fieldProblem(what: string, value: string): string | undefined {
  const n = Buffer.byteLength(value, 'utf8');
  return n > MAX_FIELD_BYTES ? `${what} of ${n} bytes is over the journal's ${MAX_FIELD_BYTES}` : undefined;
}

function isZeros(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
