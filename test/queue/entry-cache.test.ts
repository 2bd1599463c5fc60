import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryCache } from '../../src/queue/entry-cache.js';
import { eventRecordLength, writeEventRecord, type EventRecordFields } from '../../src/queue/journal-record.js';

interface Rec {
  seq: number;
  id: string;
  bytes?: number;
  key?: string;
}

/** The records encoded one after another, as a group commit writes them: the block, and each record's seq and offset. */
function block(recs: readonly Rec[]): { buf: Buffer; seqs: number[]; offsets: number[] } {
  const fields: EventRecordFields[] = recs.map((r) => ({ seq: r.seq, enqueuedAt: 1_700_000_000_000 + r.seq, routeSetId: 0, eventId: r.id, partitionKey: r.key ?? null, payload: Buffer.alloc(r.bytes ?? 10, r.id) }));
  const buf = Buffer.alloc(fields.reduce((n, f) => n + eventRecordLength(f), 0));
  const offsets: number[] = [];
  let at = 0;
  for (const f of fields) {
    offsets.push(at);
    at = writeEventRecord(buf, at, f);
  }
  return { buf, seqs: recs.map((r) => r.seq), offsets };
}

function put(cache: EntryCache, recs: readonly Rec[], keep?: Parameters<EntryCache['putBlock']>[3]): Buffer {
  const b = block(recs);
  cache.putBlock(b.buf, b.seqs, b.offsets, keep);
  return b.buf;
}

test('an entry is read from its block as written: id, key, time and payload, the payload a view of the block, not a copy', () => {
  const cache = new EntryCache(1e6);
  const buf = put(cache, [
    { seq: 7, id: 'a', bytes: 5 },
    { seq: 8, id: 'é-ü', key: 'tenant-ß', bytes: 300 },
  ]);
  const e = cache.entry(8, 2)!;
  assert.deepEqual({ ...e, payload: undefined }, { seq: 8, eventId: 'é-ü', partitionKey: 'tenant-ß', enqueuedAt: 1_700_000_000_008, attempts: 2, payload: undefined });
  assert.ok(e.payload.equals(Buffer.alloc(300, 'é-ü')));
  assert.equal(e.payload.buffer, buf.buffer, 'a view of the block');
  assert.equal(cache.entry(7, 0)!.partitionKey, null);
  assert.equal(cache.entry(9, 0), undefined);
});

test('the cache stays within its byte cap by evicting the block put first, whole', () => {
  // Each block counts its bytes, 256 bytes for itself and 96 per record: two of these fit in 2 000 bytes, three do not.
  const cache = new EntryCache(2000);
  put(cache, [{ seq: 1, id: 'a', bytes: 200 }, { seq: 2, id: 'b', bytes: 200 }]);
  put(cache, [{ seq: 3, id: 'c', bytes: 500 }]);
  assert.equal(cache.entry(1, 0)?.eventId, 'a');
  put(cache, [{ seq: 4, id: 'd', bytes: 400 }]);
  assert.equal(cache.entry(1, 0), undefined, 'the oldest block is gone');
  assert.equal(cache.entry(2, 0), undefined, 'with every record in it');
  assert.equal(cache.entry(3, 0)?.eventId, 'c');
  assert.equal(cache.entry(4, 0)?.eventId, 'd');
});

test('a block larger than the whole cap is not kept, and evicts nothing', () => {
  const cache = new EntryCache(1000);
  put(cache, [{ seq: 1, id: 'a', bytes: 100 }]);
  put(cache, [{ seq: 2, id: 'huge', bytes: 5000 }]);
  assert.equal(cache.entry(2, 0), undefined);
  assert.equal(cache.entry(1, 0)?.eventId, 'a');
});

const kept = (id: string, bytes: number, event?: object) => ({ eventId: id, partitionKey: null, enqueuedAt: 5, payload: Buffer.alloc(bytes, id), event: event as never });

test('a seq already held keeps its first entry (and its payload Buffer, which readers share); the block is kept for its other records', () => {
  const cache = new EntryCache(10_000);
  const first = kept('a', 10);
  put(cache, [{ seq: 1, id: 'a' }], [first]);
  put(cache, [{ seq: 1, id: 'again' }, { seq: 2, id: 'b' }], [kept('again', 10), undefined]);
  assert.equal(cache.entry(1, 0)!.eventId, 'a');
  assert.equal(cache.entry(1, 0)!.payload, first.payload);
  assert.equal(cache.entry(2, 0)!.eventId, 'b');
});

test('a cap of 0 keeps nothing', () => {
  const cache = new EntryCache(0);
  put(cache, [{ seq: 1, id: 'a', bytes: 1 }]);
  assert.equal(cache.has(1), false);
  assert.equal(cache.entry(1, 0), undefined);
});

test('a record kept for readers of objects gives every reader one payload Buffer and the appended object, which counts: fewer of them fit', () => {
  const cache = new EntryCache(2000);
  const event = { id: 'x' };
  cache.putEntries([1], [kept('a', 150, event)]);
  assert.equal(cache.entry(1, 0)!.payload, cache.entry(1, 1)!.payload);
  assert.equal(cache.entry(1, 0)!.event, event);
  assert.equal(cache.entry(1, 3)!.attempts, 3);
  cache.putEntries([2], [kept('b', 150, event)]);
  assert.equal(cache.entry(1, 0), undefined, 'two of 150 payload bytes and their objects are over 2 000 bytes');
  assert.equal(cache.entry(2, 0)?.eventId, 'b');
  put(cache, [{ seq: 3, id: 'c', bytes: 150 }]);
  assert.equal(cache.entry(2, 0)?.eventId, 'b', 'without an object, 150 bytes fit beside it');
  assert.equal(cache.entry(3, 0)!.event, undefined);
  assert.notEqual(cache.entry(3, 0)!.payload, cache.entry(3, 0)!.payload, 'bytes alone: a view made for each read');
});

test('through many blocks put and evicted, each seq held reads its own record and each evicted one is gone', () => {
  const cache = new EntryCache(200_000);
  const recs = Array.from({ length: 6000 }, (_, i) => ({ seq: 1000 + i, id: `e${i}`, bytes: 20 + (i % 50) }));
  for (let i = 0; i < recs.length; i += 1 + (i % 97)) put(cache, recs.slice(i, i + 1 + (i % 97)));
  const held = recs.filter((r) => cache.has(r.seq));
  assert.ok(held.length > 500 && held.length < recs.length, `${held.length} held`);
  // What is held is the newest run, without a gap.
  assert.deepEqual(held, recs.slice(recs.length - held.length));
  for (const r of held) {
    const e = cache.entry(r.seq, 0)!;
    assert.equal(e.eventId, r.id);
    assert.equal(e.seq, r.seq);
    assert.equal(e.payload.length, r.bytes);
  }
});

test('past a thousand blocks evicted (the block lists are cut down), each seq held still reads its own record', () => {
  // Room for a few dozen one-record blocks: 3 000 puts evict well over 1 024 blocks, and the lists are cut more than once.
  const cache = new EntryCache(20_000);
  for (let seq = 1; seq <= 3000; seq++) {
    put(cache, [{ seq, id: `e${seq}`, bytes: 10 + (seq % 7) }]);
    // Checked after every put: records put before a cut are read after it.
    for (let held = seq; held > 0 && cache.has(held); held--) {
      const e = cache.entry(held, 0)!;
      assert.equal(e.eventId, `e${held}`);
      assert.equal(e.payload.length, 10 + (held % 7));
    }
  }
  assert.equal(cache.has(1), false);
});

test('the rings grow after wrapping round (large records, then many small ones), and each seq held still reads its own record', () => {
  const cache = new EntryCache(200_000);
  // Large records: under a hundred held, while their positions go round the first ring (1 024) twice.
  for (let seq = 1; seq <= 2000; seq++) put(cache, [{ seq, id: `e${seq}`, bytes: 2000 }]);
  // Small records in blocks of 100: well over 1 024 held, so the rings grow with positions past their length.
  let most = 0;
  for (let seq = 2001; seq <= 6000; seq += 100) {
    put(cache, Array.from({ length: 100 }, (_, k) => ({ seq: seq + k, id: `e${seq + k}`, bytes: 1 })));
    let held = seq + 99;
    for (; cache.has(held); held--) assert.equal(cache.entry(held, 0)!.eventId, `e${held}`);
    most = Math.max(most, seq + 99 - held);
  }
  assert.ok(most > 1024, `the rings grew past their first length (${most} held)`);
});
