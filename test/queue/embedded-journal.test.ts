import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { EmbeddedJournal } from '../../src/queue/embedded-journal.js';
import { EntryCache } from '../../src/queue/entry-cache.js';
import { QueueFullError } from '../../src/queue/errors.js';
import { JournalState } from '../../src/queue/journal-state.js';
import type { DestinationOptions } from '../../src/queue/journal.js';
import { tempDir } from '../support/temp.js';

const logger = pino({ level: 'silent' });
const roomy: DestinationOptions = { maxBytes: 1e9, whenFull: 'block' };
const item = (id: string, destinations: string[], size = 10) => ({ eventId: id, partitionKey: null, payload: Buffer.from(`{"id":"${id}"}`.padEnd(size, ' ')), destinations });
const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => /^segment-\d+\.log$/.test(f)).sort();

async function opened(t: TestContext, dir: string, segmentBytes?: number, registry?: Registry) {
  const j = EmbeddedJournal.open({ dir, logger, ...(segmentBytes ? { segmentBytes } : {}), ...(registry ? { registry } : {}) });
  t.after(() => j.close());
  return j;
}

async function ids(q: { read(n: number, b: number): Promise<{ eventId: string }[]> }): Promise<string[]> {
  return (await q.read(1e6, 1e12)).map((e) => e.eventId);
}

test('an event is written once for all its destinations; each reads it back byte for byte and acknowledges on its own', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = await opened(t, dir);
  const a = j.addDestination('a', roomy);
  const b = j.addDestination('b', roomy);
  const payload = Buffer.from('{"id":"x","msg":"caf\u00e9"}');
  const { seqs } = await j.append([{ eventId: 'x', partitionKey: null, payload, destinations: ['a', 'b'] }, item('only-b', ['b'])]);
  assert.equal(seqs.length, 2);
  const [ea] = await a.read(10, 1e6);
  assert.ok(ea!.payload.equals(payload), 'the stored bytes, as appended');
  assert.deepEqual(await ids(b), ['x', 'only-b']);
  a.ack([ea!.seq]);
  assert.equal(a.depth, 0);
  assert.equal(b.depth, 2, 'b still has both');
  const onDisk = segmentFiles(dir).reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
  assert.ok(onDisk < 2 * (payload.length + 100), `one copy of each event on disk (${onDisk} bytes)`);
});

test('backlogs and positions survive a restart: acknowledged events (even out of order) are not read again', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger });
  const a = first.addDestination('a', roomy);
  first.addDestination('b', roomy);
  const { seqs } = await first.append(['e1', 'e2', 'e3', 'e4'].map((id) => item(id, ['a', 'b'])));
  a.ack([seqs[0]!, seqs[2]!]); // a partly delivered batch
  await new Promise((r) => setImmediate(r));
  await first.close();
  const again = await opened(t, dir);
  assert.deepEqual(await ids(again.addDestination('a', roomy)), ['e2', 'e4']);
  assert.deepEqual(await ids(again.addDestination('b', roomy)), ['e1', 'e2', 'e3', 'e4']);
});

test('appends in one turn share one write; all resolve, in order', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = await opened(t, dir);
  const q = j.addDestination('q', roomy);
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => j.append([item(`e${i}`, ['q'])])));
  assert.deepEqual(
    results.map((r) => r.seqs[0]),
    results.map((r) => r.seqs[0]).sort((x, y) => x! - y!),
  );
  assert.deepEqual(await ids(q), Array.from({ length: 200 }, (_, i) => `e${i}`));
  assert.equal(segmentFiles(dir).length, 1);
});

test('whenFull: block refuses a whole append for the full destination only, and takes it again once drained', async (t) => {
  const j = await opened(t, join(await tempDir(t), 'journal'));
  const small = j.addDestination('small', { maxBytes: 100, whenFull: 'block' });
  const other = j.addDestination('other', roomy);
  const first = await j.append([item('a', ['small', 'other'], 60)]);
  const second = await j.append([item('b', ['small', 'other'], 60)]);
  const refusal = second.refused.get('small');
  assert.ok(refusal instanceof QueueFullError && refusal.retryAfterSec >= 1 && /small/.test(refusal.message), String(refusal));
  assert.equal(small.depth, 1, 'nothing partial was kept');
  assert.deepEqual(await ids(other), ['a', 'b'], 'the other destination took it');
  small.ack([first.seqs[0]!]);
  assert.equal((await j.append([item('c', ['small'], 60)])).refused.size, 0);
  assert.deepEqual(await ids(small), ['c']);
});

test('whenFull: dropOldest drops the oldest of that destination and names them', async (t) => {
  const j = await opened(t, join(await tempDir(t), 'journal'));
  const d = j.addDestination('d', { maxBytes: 100, whenFull: 'dropOldest' });
  const dropped: number[] = [];
  d.onDrop = (seqs) => dropped.push(...seqs);
  const { seqs } = await j.append([item('a', ['d'], 40), item('b', ['d'], 40)]);
  await j.append([item('c', ['d'], 40)]);
  assert.deepEqual(dropped, [seqs[0]]);
  assert.deepEqual(await ids(d), ['b', 'c']);
});

test('read stops at maxBytes but always returns at least one entry', async (t) => {
  const j = await opened(t, join(await tempDir(t), 'journal'));
  const r = j.addDestination('r', roomy);
  await j.append([item('a', ['r'], 500), item('b', ['r'], 500), item('c', ['r'], 500)]);
  assert.equal((await r.read(10, 1200)).length, 2);
  assert.equal((await r.read(10, 10)).length, 1);
});

test('a torn tail (a crash in the middle of a write) is cut off at the last whole record; everything before it is kept', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger });
  first.addDestination('a', roomy);
  await first.append(['t1', 't2', 't3'].map((id) => item(id, ['a'])));
  await first.close();
  const [seg] = segmentFiles(dir);
  const whole = statSync(join(dir, seg!)).size;
  // A record frame promising 200 bytes, of which 5 made it.
  appendFileSync(join(dir, seg!), Buffer.concat([Buffer.from([200, 0, 0, 0, 1, 2, 3, 4]), Buffer.from('{"id"')]));
  const again = await opened(t, dir);
  const a = again.addDestination('a', roomy);
  assert.deepEqual(await ids(a), ['t1', 't2', 't3']);
  assert.equal(statSync(join(dir, seg!)).size, whole, 'cut back to the last whole record');
  assert.deepEqual(again.movedAside, [], 'a torn tail is expected after a crash, not corruption');
  await again.append([item('t4', ['a'])]);
  assert.deepEqual(await ids(a), ['t1', 't2', 't3', 't4']);
});

test('a segment damaged in the middle is copied aside and reported; its records before the damage and every other segment are delivered', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger, segmentBytes: 200 });
  first.addDestination('a', roomy);
  for (let i = 0; i < 12; i++) await first.append([item(`m${i}`, ['a'], 40)]);
  await first.close();
  const files = segmentFiles(dir);
  assert.ok(files.length >= 4, `several segments (${files.length})`);
  // Flip a byte in the payload of the last record of the second segment.
  const victim = join(dir, files[1]!);
  const bytes = readFileSync(victim);
  const before = (await readAll(dir)).filter((id) => segmentOf(dir, id) === files[1]);
  bytes[bytes.length - 3]! ^= 0xff;
  writeFileSync(victim, bytes);

  const registry = new Registry();
  const again = await opened(t, dir, 200, registry);
  const got = await ids(again.addDestination('a', roomy));
  const lost = before.at(-1)!;
  assert.deepEqual(got, Array.from({ length: 12 }, (_, i) => `m${i}`).filter((id) => id !== lost), 'only the damaged record is missing');
  assert.equal(again.movedAside.length, 1);
  assert.ok(existsSync(again.movedAside[0]!) && readFileSync(again.movedAside[0]!).equals(bytes), 'the damaged segment is kept as it was, for inspection');
  assert.match(await registry.getSingleMetricAsString('auditstream_journal_corrupt_segments_total'), / 1$/m);
});

test('a damaged record in the last segment that no interrupted write explains is reported like damage elsewhere, not cut silently', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger });
  first.addDestination('a', roomy);
  await first.append(['l1', 'l2', 'l3'].map((id) => item(id, ['a'], 40)));
  await first.close();
  const [seg] = segmentFiles(dir);
  const bytes = readFileSync(join(dir, seg!));
  const at = bytes.indexOf('{"id":"l2"');
  bytes[at + 2]! ^= 0xff;
  writeFileSync(join(dir, seg!), bytes);
  const again = await opened(t, dir);
  assert.deepEqual(await ids(again.addDestination('a', roomy)), ['l1']);
  assert.equal(again.movedAside.length, 1, 'a copy is kept for inspection and the damage reported');
});

test('a file that is not a segment at all is moved aside; start-up goes on and the journal works', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger });
  first.addDestination('a', roomy);
  await first.append([item('kept', ['a'])]);
  await first.close();
  writeFileSync(join(dir, 'segment-000000000000.log'), Buffer.alloc(16_384, 0xa5));
  const again = await opened(t, dir);
  assert.equal(again.movedAside.length, 1);
  assert.ok(readdirSync(dir).some((f) => f.startsWith('segment-000000000000.log.corrupt-')));
  const a = again.addDestination('a', roomy);
  await again.append([item('after', ['a'])]);
  assert.deepEqual(await ids(a), ['kept', 'after']);
});

test('a segment is deleted once every destination is done with it; a lagging destination keeps only its own segments, bounded by its cap', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = await opened(t, dir, 1024);
  const fast = j.addDestination('fast', roomy);
  const lag = j.addDestination('lag', { maxBytes: 1000, whenFull: 'block' });
  const drainFast = async () => fast.ack((await fast.read(1e6, 1e12)).map((e) => e.seq));
  // Both take events until the lagging one is full; from then on it refuses (its cap) and only fast takes them.
  let refusedByLag = 0;
  for (let i = 0; i < 200; i++) {
    const { refused } = await j.append([item(`e${i}`, ['fast', 'lag'], 100)]);
    if (refused.has('lag')) refusedByLag += 1;
    await drainFast();
  }
  assert.ok(refusedByLag > 150, `the lagging destination refused at its cap (${refusedByLag})`);
  assert.ok(lag.bytes <= 1000, `its backlog stays under its cap (${lag.bytes} bytes)`);
  const files = segmentFiles(dir);
  // 10 events of the lagging one, ~130 bytes a record: 2 segments of 1 KiB, plus the one being written.
  assert.ok(files.length <= 3, `only the lagging destination's segments and the active one remain (${files.join(', ')})`);
  lag.ack((await lag.read(1e6, 1e12)).map((e) => e.seq));
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(segmentFiles(dir).length <= 1, `once it caught up, only the active segment is left (${segmentFiles(dir).join(', ')})`);
});

test('sequence numbers keep rising across a restart even when every segment was deleted: a new event is never taken as acknowledged', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger, segmentBytes: 64 });
  const a = first.addDestination('a', roomy);
  await first.append([item('old-1', ['a']), item('old-2', ['a'])]);
  a.ack((await a.read(10, 1e6)).map((e) => e.seq));
  await first.close();
  const again = await opened(t, dir);
  const a2 = again.addDestination('a', roomy);
  await again.append([item('new', ['a'])]);
  await again.close();
  const third = await opened(t, dir);
  assert.deepEqual(await ids(third.addDestination('a', roomy)), ['new']);
});

test('the bytes of an event do not grow with the number of destinations taking it', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = await opened(t, dir);
  const many = Array.from({ length: 1000 }, (_, i) => `dest-${i}`);
  for (const d of [...many, 'one']) j.addDestination(d, roomy);
  const sizeNow = () => segmentFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  await j.append([item('warm-many', many), item('warm-one', ['one'])]); // each route set defined once
  const s0 = sizeNow();
  await j.append([item('x-many', many)]);
  const s1 = sizeNow();
  await j.append([item('x-once', ['one'])]);
  const s2 = sizeNow();
  assert.equal(s1 - s0, s2 - s1, 'an event routed to 1,000 destinations takes as many bytes as one routed to one');
});

test('removing a destination releases its backlog and the segments only it held', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = await opened(t, dir, 256);
  j.addDestination('gone', roomy);
  for (let i = 0; i < 10; i++) await j.append([item(`g${i}`, ['gone'], 100)]);
  assert.ok(segmentFiles(dir).length > 2);
  j.removeDestination('gone');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(segmentFiles(dir).length <= 1, segmentFiles(dir).join(', '));
});

test('a removed destination stays removed: its released events come back neither after a restart nor from a write under way when it went', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger });
  first.addDestination('keep', roomy);
  first.addDestination('gone', roomy);
  // The active segment outlives the removal: keep has not delivered e1.
  await first.append([item('e1', ['keep', 'gone']), item('e2', ['gone'])]);
  await new Promise((r) => setImmediate(r)); // that commit has ended: the next append's write starts in the next turn
  const writing = first.append([item('e3', ['keep', 'gone'])]);
  await new Promise((r) => setImmediate(r)); // the write has taken e3 for both and is on disk I/O
  first.removeDestination('gone');
  assert.equal((await writing).refused.size, 0, 'the write took e3 for gone before it went');
  assert.deepEqual(first.unclaimed(), [], 'e3, written when it went, is not kept for it');
  await new Promise((r) => setImmediate(r));
  await first.close();
  const again = await opened(t, dir);
  assert.deepEqual(again.unclaimed(), ['keep'], 'nothing held for the removed destination after a restart');
  assert.deepEqual(await ids(again.addDestination('gone', roomy)), [], 'a new destination of the same name starts empty');
  assert.deepEqual(await ids(again.addDestination('keep', roomy)), ['e1', 'e3']);
});

/** Every event id in the journal at `dir`, read directly from the files. */
async function readAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of segmentFiles(dir)) for (const m of readFileSync(join(dir, f), 'latin1').matchAll(/\{"id":"([^"]+)"/g)) out.push(m[1]!);
  return out;
}

function segmentOf(dir: string, id: string): string | undefined {
  return segmentFiles(dir).find((f) => readFileSync(join(dir, f), 'latin1').includes(`{"id":"${id}"`));
}

test('destinations taking the same events share one copy of their bytes, from the write or from one read of the segment', async (t) => {
  for (const cacheBytes of [undefined, 0]) {
    const dir = join(await tempDir(t), 'journal');
    const j = EmbeddedJournal.open({ dir, logger, ...(cacheBytes === undefined ? {} : { cacheBytes }) });
    t.after(() => j.close());
    const queues = ['a', 'b', 'c'].map((id) => j.addDestination(id, roomy));
    const appended = ['e1', 'e2', 'e3'].map((id) => item(id, ['a', 'b', 'c'], 40));
    await j.append(appended);
    // Read at once, as destinations woken by the same append do.
    const [ra, rb, rc] = await Promise.all(queues.map((q) => q.read(10, 1e6)));
    for (const [k, a] of appended.entries()) {
      assert.ok(ra![k]!.payload.equals(a.payload), `cache ${cacheBytes ?? 'default'}: the bytes as appended`);
      assert.equal(rb![k]!.payload, ra![k]!.payload, `cache ${cacheBytes ?? 'default'}: b got the same Buffer as a`);
      assert.equal(rc![k]!.payload, ra![k]!.payload, `cache ${cacheBytes ?? 'default'}: c got the same Buffer as a`);
    }
    queues[0]!.recordAttempt([ra![0]!.seq]);
    const [again] = await queues[0]!.read(1, 1e6);
    assert.equal(again!.attempts, 1, 'attempts stay per destination');
    assert.equal((await queues[1]!.read(1, 1e6))[0]!.attempts, 0);
  }
});

test('with every read going to the segment file (no cache), backlogs larger than a batch read back in order, each event once', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = EmbeddedJournal.open({ dir, logger, cacheBytes: 0 });
  t.after(() => j.close());
  const a = j.addDestination('a', roomy);
  const b = j.addDestination('b', roomy);
  const names = Array.from({ length: 50 }, (_, i) => `e${i}`);
  await j.append(names.map((id, i) => item(id, i % 2 === 0 ? ['a', 'b'] : ['b'])));
  const seen: string[] = [];
  while (b.depth > 0) {
    const batch = await b.read(7, 1e6);
    seen.push(...batch.map((e) => e.eventId));
    b.ack(batch.map((e) => e.seq));
  }
  assert.deepEqual(seen, names);
  assert.deepEqual(await ids(a), names.filter((_, i) => i % 2 === 0));
});

test('a destination reading what was just appended gets the appended event object itself; after a restart, only the bytes', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger });
  const a = first.addDestination('a', roomy);
  const b = first.addDestination('b', roomy);
  const event = { id: 'x', time: '2024-05-01T00:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', details: {}, raw: '{}' } as const;
  const payload = Buffer.from(JSON.stringify(event));
  await first.append([{ eventId: 'x', partitionKey: null, payload, event: { ...event }, destinations: ['a', 'b'] }, item('no-object', ['a'])]);
  const [ea, plain] = await a.read(10, 1e6);
  const [eb] = await b.read(10, 1e6);
  assert.deepEqual(ea!.event, event);
  assert.equal(ea!.event, eb!.event, 'one object for every destination, not a parse each');
  assert.ok(ea!.payload.equals(payload));
  assert.equal(plain!.event, undefined, 'appended without an object: the reader parses the bytes');
  await first.close();
  const again = await opened(t, dir);
  const [reread] = await again.addDestination('a', roomy).read(10, 1e6);
  assert.equal(reread!.event, undefined);
  assert.ok(reread!.payload.equals(payload), 'the bytes written in place are the payload appended');
});

test('the appended object is kept only for entries that a destination reading objects takes; readers of stored bytes get the bytes alone', async (t) => {
  const j = await opened(t, join(await tempDir(t), 'journal'));
  const log = j.addDestination('log', roomy);
  const store = j.addDestination('store', roomy);
  log.readsStoredBytes = true;
  store.readsStoredBytes = true;
  const webhook = j.addDestination('webhook', roomy);
  const appended = (id: string, destinations: string[]) => {
    const event = { id, time: '2024-05-01T00:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', details: {}, raw: '{}' } as const;
    return { eventId: id, partitionKey: null, payload: Buffer.from(JSON.stringify(event)), event, destinations };
  };
  const [bytesOnly, withWebhook] = [appended('bytes-only', ['log', 'store']), appended('with-webhook', ['log', 'store', 'webhook'])];
  await j.append([bytesOnly, withWebhook]);
  const [a, b] = await log.read(10, 1e6);
  assert.equal(a!.event, undefined, 'only readers of stored bytes take it: no object kept');
  assert.ok(a!.payload.equals(bytesOnly.payload));
  assert.equal(b!.event, withWebhook.event, 'the webhook reads objects: kept, and every destination gets it');
  assert.equal((await webhook.read(10, 1e6))[0]!.event, withWebhook.event);
});

test('a read above a seq skips what is in flight below it: batches follow each other, and one past the end is empty', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = await opened(t, dir);
  const a = j.addDestination('a', roomy);
  await j.append(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'].map((id) => item(id, ['a'])));
  const first = await a.read(2, 1e6);
  assert.deepEqual(first.map((e) => e.eventId), ['e1', 'e2']);
  const second = await a.read(2, 1e6, first.at(-1)!.seq);
  assert.deepEqual(second.map((e) => e.eventId), ['e3', 'e4']);
  // Done entries above are skipped, as in a read from the oldest.
  a.ack([second[0]!.seq]);
  assert.deepEqual((await a.read(10, 1e6, first.at(-1)!.seq)).map((e) => e.eventId), ['e4', 'e5', 'e6']);
  const last = await a.read(10, 1e6, second.at(-1)!.seq);
  assert.deepEqual(last.map((e) => e.eventId), ['e5', 'e6']);
  assert.deepEqual(await a.read(10, 1e6, last.at(-1)!.seq), []);
  assert.deepEqual((await a.read(10, 1e6)).map((e) => e.eventId), ['e1', 'e2', 'e4', 'e5', 'e6'], 'a read without a seq still starts at the oldest');
});

test('acks out of journal order: the saved position stops at the gap, remembers what is done above it, and jumps once the gap is filled', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const position = () => {
    const state = new JournalState(join(dir, 'state.db'));
    try {
      return state.load().get('a');
    } finally {
      state.close();
    }
  };
  const first = EmbeddedJournal.open({ dir, logger });
  const a = first.addDestination('a', roomy);
  const { seqs } = await first.append(['e1', 'e2', 'e3', 'e4', 'e5'].map((id) => item(id, ['a'])));
  const s = seqs as number[];
  // The second batch (e3, e4) answered before the first (e1, e2).
  a.ack([s[2]!, s[3]!]);
  await new Promise((r) => setImmediate(r));
  await first.close();
  assert.deepEqual(position(), { ackedThrough: s[0]! - 1, doneAbove: [s[2]!, s[3]!] });

  // A crash now: the first batch is delivered again, the second not.
  const again = EmbeddedJournal.open({ dir, logger });
  const a2 = again.addDestination('a', roomy);
  assert.deepEqual(await ids(a2), ['e1', 'e2', 'e5']);
  a2.ack([s[0]!, s[1]!]);
  await new Promise((r) => setImmediate(r));
  await again.close();
  assert.deepEqual(position(), { ackedThrough: s[3]!, doneAbove: [] });
});

test('a commit refused part way by a full disk leaves none of its records behind: after a restart only what was acknowledged is read', async (t) => {
  // A real full disk: a small tmpfs (needs root, as CI and the dev machines run).
  const mountDir = mkdtempSync(join(tmpdir(), 'as-journal-full-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountDir]).status !== 0) {
    rmSync(mountDir, { recursive: true, force: true });
    return t.skip('cannot mount a tmpfs here (not root)');
  }
  t.after(() => {
    spawnSync('umount', ['-l', mountDir]);
    rmSync(mountDir, { recursive: true, force: true });
  });
  const dir = join(mountDir, 'journal');
  const first = EmbeddedJournal.open({ dir, logger });
  first.addDestination('a', roomy);
  await first.append([item('kept', ['a'])]);
  // About 1.5 MiB left: the 3 MB commit below gets its first 1 MiB chunk, whole records, onto the disk before it fails.
  const { bavail, bsize } = statfsSync(mountDir);
  writeFileSync(join(mountDir, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 1536 * 1024)));
  const big = Array.from({ length: 30 }, (_, i) => item(`refused-${i}`, ['a'], 100_000));
  await assert.rejects(first.append(big), /ENOSPC|no space/i);
  await first.close();

  rmSync(join(mountDir, 'filler'));
  const again = await opened(t, dir);
  assert.deepEqual(await ids(again.addDestination('a', roomy)), ['kept']);
});

test('journal.cacheBytes holds the records\' bytes and a little bookkeeping: a commit of 200 small events fits in 64 KiB and every destination reads it from memory', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = EmbeddedJournal.open({ dir, logger, cacheBytes: 64 * 1024 });
  t.after(() => j.close());
  const [a, b] = ['a', 'b'].map((id) => j.addDestination(id, roomy));
  a!.readsStoredBytes = true;
  b!.readsStoredBytes = true;
  const names = Array.from({ length: 200 }, (_, i) => `e${i}`);
  await j.append(names.map((id) => item(id, ['a', 'b'], 100)));
  // Damage every record on disk: a read going to the file would get them unreadable.
  const [file] = segmentFiles(dir);
  const bytes = readFileSync(join(dir, file!));
  writeFileSync(join(dir, file!), Buffer.concat([bytes.subarray(0, 16), Buffer.alloc(bytes.length - 16)]));
  for (const q of [a!, b!]) {
    const read = await q.read(1000, 1e9);
    assert.deepEqual(read.filter((e) => e.unreadable !== undefined).map((e) => e.eventId), [], q.id);
    assert.deepEqual(read.map((e) => e.eventId), names, q.id);
  }
});

/** Destinations a and b of a journal reopened after e1 and e2 were appended for both: their records are read from disk. */
async function restartedWithTwoRecords(t: TestContext) {
  const dir = join(await tempDir(t), 'journal');
  const first = EmbeddedJournal.open({ dir, logger });
  for (const id of ['a', 'b']) first.addDestination(id, roomy);
  await first.append(['e1', 'e2'].map((id) => item(id, ['a', 'b'])));
  await first.close();
  const again = await opened(t, dir);
  return ['a', 'b'].map((id) => again.addDestination(id, roomy));
}

test('after a restart, destinations reading objects that read the same records one after the other get one payload Buffer (one parse)', async (t) => {
  const [a, b] = await restartedWithTwoRecords(t);
  const ra = await a!.read(10, 1e6);
  const rb = await b!.read(10, 1e6);
  assert.deepEqual(rb.map((e) => e.eventId), ['e1', 'e2']);
  for (const [k, e] of ra.entries()) assert.equal(rb[k]!.payload, e.payload);
});

test('a destination that starts reading objects after a read from disk gets, with the others, one payload Buffer for records read from disk later', async (t) => {
  const [a, b] = await restartedWithTwoRecords(t);
  a!.readsStoredBytes = true;
  b!.readsStoredBytes = true;
  // A read from disk while no destination reads objects: e1 is kept as bytes alone.
  assert.deepEqual((await a!.read(1, 1e6)).map((e) => e.eventId), ['e1']);
  a!.readsStoredBytes = false;
  b!.readsStoredBytes = false;
  const ra = await a!.read(10, 1e6);
  const rb = await b!.read(10, 1e6);
  assert.deepEqual(rb.map((e) => e.eventId), ['e1', 'e2']);
  assert.equal(rb[1]!.payload, ra[1]!.payload, 'e2, read from disk after the change, is kept as one entry');
});

test('a commit on disk is acknowledged even when the entry cache fails to keep it; its records are read from the segment file', async (t) => {
  const dir = join(await tempDir(t), 'journal');
  const j = await opened(t, dir);
  const a = j.addDestination('a', roomy);
  a.readsStoredBytes = true;
  // What a full Map or a failed allocation for the cache's index would throw, after the fdatasync.
  const putBlock = t.mock.method(EntryCache.prototype, 'putBlock', () => {
    throw new RangeError('Map maximum size exceeded');
  });
  const { seqs } = await j.append(['e1', 'e2'].map((id) => item(id, ['a'])));
  assert.equal(seqs.length, 2);
  const read = await a.read(10, 1e6);
  assert.deepEqual(read.map((e) => [e.eventId, e.unreadable]), [['e1', undefined], ['e2', undefined]]);
  assert.equal(putBlock.mock.callCount(), 2, 'the commit and the read each tried the cache');
});
