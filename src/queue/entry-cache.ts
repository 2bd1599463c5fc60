import type { AuditEvent } from '../core/event.js';

/** What the cache keeps of one event record: every field a destination reads except its own attempt count. */
export interface CachedEntry {
  eventId: string;
  partitionKey: string | null;
  enqueuedAt: number;
  payload: Buffer;
  /** The appended object itself (JournalAppend.event): a destination reading the entry need not parse the payload. */
  event?: AuditEvent;
}

/**
 * What an entry takes beyond its payload's bytes: the entry object, its id
 * string, the payload's Buffer object and its share of the 8 KiB pool slab
 * it was copied into, the Map's and the eviction list's slots. Measured
 * (heap and external memory after a GC, 100 000 entries of 760-byte
 * payloads) at about 375 bytes; counted so that `journal.cacheBytes` bounds
 * the memory the cache holds, small events included.
 */
const ENTRY_OVERHEAD_BYTES = 384;
/**
 * Heap an event object takes per byte of its JSON, beyond the JSON itself:
 * measured about 1.7 for the ~300-byte generic events of the benchmarks
 * (540 bytes of heap each), rounded up.
 */
const EVENT_BYTES_PER_JSON_BYTE = 2;

function sizeOf(entry: CachedEntry): number {
  return entry.payload.length * (entry.event === undefined ? 1 : 1 + EVENT_BYTES_PER_JSON_BYTE) + ENTRY_OVERHEAD_BYTES;
}

/**
 * Event records recently written to or read from the journal, by seq, bounded
 * in bytes (oldest put evicted first). Destinations taking the same events
 * read them at about the same time; with this, the first read (or the write
 * itself) serves them all, with the same payload Buffer, instead of each one
 * reading, checksumming and decoding the record on its own.
 */
export class EntryCache {
  private readonly entries = new Map<number, CachedEntry>();
  /** Seqs in the order they were put, from `head`: evicting walks this, not the Map, whose deleted slots an iterator would step over again on every put. */
  private order: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(seq: number): CachedEntry | undefined {
    return this.entries.get(seq);
  }

  put(seq: number, entry: CachedEntry): void {
    const size = sizeOf(entry);
    if (size > this.maxBytes || this.entries.has(seq)) return;
    this.entries.set(seq, entry);
    this.order.push(seq);
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const oldSeq = this.order[this.head++]!;
      this.bytes -= sizeOf(this.entries.get(oldSeq)!);
      this.entries.delete(oldSeq);
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
