import type { AuditEvent } from '../core/event.js';
import type { JournalEntry } from './journal.js';
import { verifiedEventEntry } from './journal-record.js';

/**
 * A record kept as an entry, for destinations reading objects: one payload
 * Buffer every reader gets (the emitters' one parse is keyed on it) and the
 * appended object, when there is one.
 */
export interface KeptEntry {
  readonly eventId: string;
  readonly partitionKey: string | null;
  readonly enqueuedAt: number;
  readonly payload: Buffer;
  readonly event?: AuditEvent | undefined;
}

/** Per record of a block: the entry to keep, or undefined to keep its bytes alone. */
export type KeepObject = KeptEntry | undefined;

/** The block of records kept only as entries (putEntries). */
const NO_BYTES = Buffer.alloc(0);

/**
 * What a block takes beyond its bytes: its Buffer object and its slots in
 * the block lists. The journal allocates blocks outside Buffer's shared
 * pool, so a small one holds no 8 KiB slab beside it.
 */
const BLOCK_OVERHEAD_BYTES = 256;
/**
 * What indexing one record takes: its Map slot (seq to ring slot, about 50
 * bytes with the table's spare room) and its slots in the rings, which are
 * up to twice as long as what they hold. Measured (heap after a GC, 100 000
 * records in blocks of 100) at about 90 bytes.
 */
const RECORD_INDEX_BYTES = 96;
/** What a kept entry takes beside its index: the entry object, its id string, its payload Buffer object, its Map slot. */
const KEPT_OVERHEAD_BYTES = 320;
/**
 * Heap an event object takes per byte of its JSON, beyond the JSON itself:
 * measured about 1.7 for the ~300-byte generic events of the benchmarks
 * (540 bytes of heap each), rounded up.
 */
const EVENT_BYTES_PER_JSON_BYTE = 2;

const FIRST_RING_LENGTH = 1024;

function keptSize(o: KeptEntry, block: Buffer): number {
  // A view of the block is counted with it.
  const inBlock = o.payload.buffer === block.buffer && o.payload.byteOffset >= block.byteOffset && o.payload.byteOffset + o.payload.length <= block.byteOffset + block.length;
  const own = inBlock && block.length > 0 ? 0 : o.payload.length;
  return KEPT_OVERHEAD_BYTES + own + (o.event === undefined ? 0 : EVENT_BYTES_PER_JSON_BYTE * o.payload.length);
}

/**
 * Event records recently written to or read from the journal, bounded in
 * bytes. Destinations taking the same events read them at about the same
 * time; with this, the first read (or the write itself) serves them all
 * instead of each one reading, checksumming and decoding the record on its
 * own.
 *
 * The cache keeps blocks of encoded records as they are: the bytes of one
 * group commit, or one read of a segment file, and evicts them whole, the
 * oldest put first. A record is a slot in typed-array rings (its seq, its
 * block, its offset in it) and a Map slot from its seq; nothing in the heap
 * is an object per record, so the cache's contents cost the garbage
 * collector a few large objects to walk and free, not tens of thousands
 * (docs/benchmarks.md §5). A read builds the entry from the record's bytes,
 * its payload a view of the block. Only records some destination reads as
 * objects are kept as entries (`keep`): their appended object, and a
 * payload Buffer every reader gets, which emitters key their one parse on;
 * a commit of such records alone is kept as entries without a block
 * (putEntries), since the appended objects keep the JSON they were written
 * from.
 */
export class EntryCache {
  /** Seq to slot in the rings below. */
  private readonly index = new Map<number, number>();
  private seqAt = new Float64Array(FIRST_RING_LENGTH);
  private offsetAt = new Uint32Array(FIRST_RING_LENGTH);
  private blockAt = new Float64Array(FIRST_RING_LENGTH);
  /** The records held, in put order: positions [first, end); a position's slot is position & (ring length − 1). */
  private first = 0;
  private end = 0;
  /** Block n (numbered in put order) is blocks[n − blockBase]; those before blockHead are evicted. */
  private blocks: (Buffer | undefined)[] = [];
  private blockBytes: number[] = [];
  private blockRecords: number[] = [];
  private blockHead = 0;
  private blockBase = 0;
  private readonly kept = new Map<number, KeptEntry>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Whether a block of `bytes` with `records` records can be kept at all (before kept objects). */
  fits(bytes: number, records: number): boolean {
    return bytes + BLOCK_OVERHEAD_BYTES + records * RECORD_INDEX_BYTES <= this.maxBytes;
  }

  has(seq: number): boolean {
    return this.index.has(seq);
  }

  /** The entry of `seq` as a destination reads it, or undefined when the cache does not hold it. */
  entry(seq: number, attempts: number): JournalEntry | undefined {
    const slot = this.index.get(seq);
    if (slot === undefined) return undefined;
    const block = this.blocks[this.blockAt[slot]! - this.blockBase]!;
    const kept = this.kept.size > 0 ? this.kept.get(seq) : undefined;
    if (kept === undefined) return verifiedEventEntry(block, this.offsetAt[slot]!, attempts);
    const entry: JournalEntry = { seq, eventId: kept.eventId, partitionKey: kept.partitionKey, enqueuedAt: kept.enqueuedAt, attempts, payload: kept.payload };
    if (kept.event !== undefined) entry.event = kept.event;
    return entry;
  }

  /**
   * Keeps `block`, whose event records `seqs` start at `offsets` (ascending),
   * checked or written by this process, with `keep` the entries to keep of
   * some of them. A seq already held keeps what it has (readers share its
   * payload Buffer); a block over the whole cap is not kept.
   */
  putBlock(block: Buffer, seqs: readonly number[], offsets: readonly number[] | undefined, keep?: readonly KeepObject[]): void {
    let size = block.length + BLOCK_OVERHEAD_BYTES;
    let count = 0;
    for (let k = 0; k < seqs.length; k++) {
      if (this.index.has(seqs[k]!)) continue;
      count += 1;
      size += RECORD_INDEX_BYTES;
      const o = keep?.[k];
      if (o) size += keptSize(o, block);
    }
    if (count === 0 || size > this.maxBytes) return;
    this.makeRoom(count);
    const number = this.blockBase + this.blocks.length;
    this.blocks.push(block);
    this.blockBytes.push(size);
    this.blockRecords.push(count);
    const mask = this.seqAt.length - 1;
    // A commit's seqs are new: no second lookup each.
    const someHeld = count < seqs.length;
    for (let k = 0; k < seqs.length; k++) {
      const seq = seqs[k]!;
      if (someHeld && this.index.has(seq)) continue;
      const slot = this.end++ & mask;
      this.seqAt[slot] = seq;
      this.offsetAt[slot] = offsets?.[k] ?? 0;
      this.blockAt[slot] = number;
      this.index.set(seq, slot);
      const o = keep?.[k];
      if (o) this.kept.set(seq, o);
    }
    this.bytes += size;
    while (this.bytes > this.maxBytes) this.evictOldest();
    if (this.blockHead > 1024 && this.blockHead * 2 > this.blocks.length) {
      this.blocks = this.blocks.slice(this.blockHead);
      this.blockBytes = this.blockBytes.slice(this.blockHead);
      this.blockRecords = this.blockRecords.slice(this.blockHead);
      this.blockBase += this.blockHead;
      this.blockHead = 0;
    }
  }

  /** Records kept as entries alone, without a block: the appended objects and the payloads they keep, where no record of a commit goes without. */
  putEntries(seqs: readonly number[], entries: readonly KeptEntry[]): void {
    this.putBlock(NO_BYTES, seqs, undefined, entries);
  }

  private evictOldest(): void {
    const count = this.blockRecords[this.blockHead]!;
    const mask = this.seqAt.length - 1;
    for (let k = 0; k < count; k++) {
      const seq = this.seqAt[(this.first + k) & mask]!;
      this.index.delete(seq);
      if (this.kept.size > 0) this.kept.delete(seq);
    }
    this.first += count;
    this.bytes -= this.blockBytes[this.blockHead]!;
    this.blocks[this.blockHead] = undefined;
    this.blockHead += 1;
  }

  /** Grows the rings (twice what they must hold) when `count` more records would not fit; a position keeps its place modulo the new length. */
  private makeRoom(count: number): void {
    const held = this.end - this.first;
    if (held + count <= this.seqAt.length) return;
    let length = this.seqAt.length;
    while (length < 2 * (held + count)) length *= 2;
    const [seqAt, offsetAt, blockAt] = [new Float64Array(length), new Uint32Array(length), new Float64Array(length)];
    const oldMask = this.seqAt.length - 1;
    const mask = length - 1;
    for (let p = this.first; p < this.end; p++) {
      const from = p & oldMask;
      const to = p & mask;
      seqAt[to] = this.seqAt[from]!;
      offsetAt[to] = this.offsetAt[from]!;
      blockAt[to] = this.blockAt[from]!;
      this.index.set(seqAt[to]!, to);
    }
    [this.seqAt, this.offsetAt, this.blockAt] = [seqAt, offsetAt, blockAt];
  }
}
