import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { DiskQueue } from '../../src/queue/disk-queue.js';
import { QueueFullError } from '../../src/queue/errors.js';
import { tempDir } from '../support/temp.js';

const logger = pino({ level: 'silent' });
const item = (id: string, size = 10) => ({ eventId: id, partitionKey: null, payload: Buffer.alloc(size, 97) });

test('appends survive closing and reopening, in order; removed entries are gone', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'q.db');
  const q = new DiskQueue({ name: 'q', file, maxBytes: 1e6, whenFull: 'block', logger });
  const seqs = await q.append([item('a'), item('b'), item('c')]);
  assert.equal(seqs.length, 3);
  q.remove([seqs[0]!]);
  q.close();
  const again = new DiskQueue({ name: 'q', file, maxBytes: 1e6, whenFull: 'block', logger });
  t.after(() => again.close());
  assert.equal(again.depth, 2);
  assert.equal(again.bytes, 20);
  assert.deepEqual(again.read(0, 10, 1e6).map((e) => e.eventId), ['b', 'c']);
});

test('concurrent appends in one event-loop turn share one transaction (group commit) and all resolve', async (t) => {
  const dir = await tempDir(t);
  const q = new DiskQueue({ name: 'q', file: join(dir, 'q.db'), maxBytes: 1e7, whenFull: 'block', logger });
  t.after(() => q.close());
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => q.append([item(`e${i}`)])));
  const all = results.flat();
  assert.equal(new Set(all).size, 200);
  assert.equal(q.depth, 200);
  assert.deepEqual(q.read(0, 1000, 1e9).map((e) => e.eventId), Array.from({ length: 200 }, (_, i) => `e${i}`));
});

test('whenFull: block refuses what does not fit and accepts again once drained', async (t) => {
  const dir = await tempDir(t);
  const q = new DiskQueue({ name: 'small', file: join(dir, 'q.db'), maxBytes: 100, whenFull: 'block', logger });
  t.after(() => q.close());
  const seqs = await q.append([item('a', 60)]);
  await assert.rejects(q.append([item('b', 60)]), (err: unknown) => err instanceof QueueFullError && err.retryAfterSec >= 1 && /small/.test(err.message));
  assert.equal(q.depth, 1, 'nothing partial was kept');
  q.remove(seqs);
  await q.append([item('b', 60)]);
  assert.equal(q.depth, 1);
});

test('whenFull: dropOldest drops the oldest entries and reports how many', async (t) => {
  const dir = await tempDir(t);
  const dropped: number[] = [];
  const q = new DiskQueue({ name: 'd', file: join(dir, 'q.db'), maxBytes: 100, whenFull: 'dropOldest', logger });
  q.onDrop = (seqs) => dropped.push(...seqs);
  t.after(() => q.close());
  const [first] = await q.append([item('a', 40), item('b', 40)]);
  await q.append([item('c', 40)]);
  assert.deepEqual(dropped, [first], 'the dropped entry is named, so whoever waits for it can be told');
  assert.deepEqual(q.read(0, 10, 1e6).map((e) => e.eventId), ['b', 'c']);
});

test('a corrupt queue file is moved aside and an empty queue starts: start-up never blocks', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'q.db');
  writeFileSync(file, Buffer.alloc(8192, 0x5a));
  const q = new DiskQueue({ name: 'c', file, maxBytes: 1e6, whenFull: 'block', logger });
  t.after(() => q.close());
  assert.ok(q.recoveredFrom && existsSync(q.recoveredFrom), 'the unreadable file is kept for inspection');
  assert.ok(readdirSync(dir).some((f) => f.startsWith('q.db.corrupt-')));
  await q.append([item('x')]);
  assert.equal(q.depth, 1);
});

test('a queue file that cannot be opened for another reason than corruption is left where it is', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'q.db');
  const q = new DiskQueue({ name: 'p', file, maxBytes: 1e6, whenFull: 'block', logger });
  await q.append([item('keep')]);
  q.close();
  // A directory where the WAL file must go: SQLite cannot open the queue, but nothing in it is corrupt.
  mkdirSync(`${file}-wal`);
  assert.throws(() => new DiskQueue({ name: 'p', file, maxBytes: 1e6, whenFull: 'block', logger }));
  assert.ok(!readdirSync(dir).some((f) => f.includes('corrupt')), 'a healthy queue is not moved aside');
});

test('read stops at maxBytes but always returns at least one entry', async (t) => {
  const dir = await tempDir(t);
  const q = new DiskQueue({ name: 'r', file: join(dir, 'q.db'), maxBytes: 1e6, whenFull: 'block', logger });
  t.after(() => q.close());
  await q.append([item('a', 500), item('b', 500), item('c', 500)]);
  assert.equal(q.read(0, 10, 1200).length, 2);
  assert.equal(q.read(0, 10, 10).length, 1);
});

test('remove takes a scattered set or a whole range, and the byte count stays true across a reopen', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'q.db');
  const q = new DiskQueue({ name: 'rm', file, maxBytes: 1e6, whenFull: 'block', logger });
  const seqs = await q.append(['a', 'b', 'c', 'd', 'e'].map((id, i) => item(id, 10 * (i + 1))));
  q.remove([seqs[0]!, seqs[2]!]); // a partial delivery: not contiguous
  assert.deepEqual(q.read(0, 10, 1e6).map((e) => e.eventId), ['b', 'd', 'e']);
  assert.equal(q.bytes, 20 + 40 + 50);
  q.remove([seqs[3]!, seqs[1]!, seqs[4]!, seqs[4]!]); // a whole batch, in any order, even repeated
  assert.equal(q.depth, 0);
  assert.equal(q.bytes, 0);
  await q.append([item('f', 7)]);
  q.close();
  const again = new DiskQueue({ name: 'rm', file, maxBytes: 1e6, whenFull: 'block', logger });
  t.after(() => again.close());
  assert.equal(again.depth, 1);
  assert.equal(again.bytes, 7);
});
