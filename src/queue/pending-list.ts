/**
 * One destination's backlog in memory: where each of its undelivered events
 * sits in the journal, in sequence order. Kept as parallel typed arrays (about
 * 30 bytes an event) rather than objects: a destination that is down may wait
 * on millions of events, and the payloads themselves stay on disk.
 */
const EMPTY_F64 = new Float64Array(0);
const EMPTY_U32 = new Uint32Array(0);
const EMPTY_U8 = new Uint8Array(0);

export class PendingList {
  private cap = 0;
  private head = 0;
  private tail = 0;
  // Shared until the first push: seven empty typed arrays of its own cost a destination that never
  // gets an event 1.3 KB of heap, and a server may have 10 000 of those. Nothing writes to a list of cap 0.
  private seqs = EMPTY_F64;
  private enqueued = EMPTY_F64;
  private segs = EMPTY_U32;
  private offsets = EMPTY_U32;
  private lengths = EMPTY_U32;
  private sizes = EMPTY_U32;
  private done = EMPTY_U8;
  /** Not-done entries and their payload bytes. */
  count = 0;
  bytes = 0;
  /** The highest seq ever marked done: no entry above it is done, so scans for done entries stop there. */
  private maxDoneSeq = -1;

  /** Appends one entry; `seq` must be above every entry's so far. */
  push(seq: number, segment: number, offset: number, length: number, payloadBytes: number, enqueuedAt: number): void {
    if (this.tail === this.cap) this.makeRoom();
    const i = this.tail++;
    this.seqs[i] = seq;
    this.segs[i] = segment;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.sizes[i] = payloadBytes;
    this.enqueued[i] = enqueuedAt;
    this.done[i] = 0;
    this.count += 1;
    this.bytes += payloadBytes;
  }

  /** The oldest not-done entry's index, or -1. */
  first(): number {
    while (this.head < this.tail && this.done[this.head]) this.head += 1;
    return this.head < this.tail ? this.head : -1;
  }

  /**
   * Indexes of up to `limit` not-done entries from the oldest (above
   * `afterSeq` when given), stopping before `maxBytes` (at least one).
   */
  oldest(limit: number, maxBytes: number, afterSeq?: number): number[] {
    const out: number[] = [];
    let bytes = 0;
    const start = afterSeq === undefined ? this.first() : this.firstAbove(afterSeq);
    for (let i = start; i !== -1 && i < this.tail && out.length < limit; i++) {
      if (this.done[i]) continue;
      if (out.length > 0 && bytes + this.sizes[i]! > maxBytes) break;
      bytes += this.sizes[i]!;
      out.push(i);
    }
    return out;
  }

  /** Marks the entry with `seq` done; returns its index, or -1 if it was not pending. */
  markDone(seq: number): number {
    const i = this.indexOf(seq);
    if (i === -1 || this.done[i]) return -1;
    this.done[i] = 1;
    if (seq > this.maxDoneSeq) this.maxDoneSeq = seq;
    this.count -= 1;
    this.bytes -= this.sizes[i]!;
    return i;
  }

  /** Whether the entry with `seq` is still pending. */
  has(seq: number): boolean {
    const i = this.indexOf(seq);
    return i !== -1 && !this.done[i];
  }

  /** Sequence numbers of done entries after the oldest not-done one (acknowledged out of order). */
  doneAbove(): number[] {
    const out: number[] = [];
    // Only the batch in flight is done out of order: stop at the last done entry, not at the end of a long backlog.
    for (let i = this.first(); i !== -1 && i < this.tail && this.seqs[i]! <= this.maxDoneSeq; i++) if (this.done[i]) out.push(this.seqs[i]!);
    return out;
  }

  seq(i: number): number {
    return this.seqs[i]!;
  }
  segment(i: number): number {
    return this.segs[i]!;
  }
  offset(i: number): number {
    return this.offsets[i]!;
  }
  length(i: number): number {
    return this.lengths[i]!;
  }
  size(i: number): number {
    return this.sizes[i]!;
  }
  enqueuedAt(i: number): number {
    return this.enqueued[i]!;
  }

  /** Every not-done entry's index, oldest first. */
  *live(): Generator<number> {
    for (let i = this.first(); i !== -1 && i < this.tail; i++) if (!this.done[i]) yield i;
  }

  /** The index of the first entry (done or not) with a seq above `seq`, or -1. */
  private firstAbove(seq: number): number {
    let lo = this.first();
    if (lo === -1) return -1;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.tail ? lo : -1;
  }

  private indexOf(seq: number): number {
    let lo = this.head;
    let hi = this.tail - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.seqs[mid]!;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Drops the done prefix, then grows if still more than half full. Indexes handed out earlier become invalid. */
  private makeRoom(): void {
    this.first();
    const live = this.tail - this.head;
    const cap = live * 2 > this.cap || this.cap === 0 ? Math.max(64, this.cap * 2) : this.cap;
    const move = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = cap === this.cap ? a : make(cap);
      b.set(a.subarray(this.head, this.tail), 0);
      return b;
    };
    this.seqs = move(this.seqs, (n) => new Float64Array(n));
    this.enqueued = move(this.enqueued, (n) => new Float64Array(n));
    this.segs = move(this.segs, (n) => new Uint32Array(n));
    this.offsets = move(this.offsets, (n) => new Uint32Array(n));
    this.lengths = move(this.lengths, (n) => new Uint32Array(n));
    this.sizes = move(this.sizes, (n) => new Uint32Array(n));
    this.done = move(this.done, (n) => new Uint8Array(n));
    this.cap = cap;
    this.tail = live;
    this.head = 0;
  }
}
