import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { AuditEvent } from '../../src/core/event.js';
import { RetriableError } from '../../src/core/errors.js';
import { newEventId } from '../../src/core/ids.js';
import { parseConfig } from '../../src/config/validate.js';
import { fileError } from '../../src/sinks/log/file-error.js';
import { createLogSink, logSink } from '../../src/sinks/log/sink.js';
import type { Sink } from '../../src/sinks/sink.js';
import { startEmitter } from '../support/emitter-harness.js';
import { tempDir, waitFor } from '../support/temp.js';

function event(i: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: newEventId(),
    time: new Date(Date.UTC(2026, 10, 23, 12, 0, i)).toISOString(),
    type: 'login',
    source: 'blitz',
    service: 'idp',
    outcome: 'success',
    actor: `user-${i}`,
    clientIp: '192.0.2.10',
    details: { auth_methods: 'password', ip_ctr: 'Узбекистан', n: i },
    raw: JSON.stringify({ type: 'login', subject_id: `user-${i}` }),
    ...overrides,
  };
}

const events = (n: number, from = 0) => Array.from({ length: n }, (_, i) => event(from + i));

/** A settable clock: tests move it across midnight instead of waiting for one. */
function clock(iso: string) {
  let t = new Date(iso);
  return { now: () => t, set: (next: string) => void (t = new Date(next)) };
}

function open(t: TestContext, dataDir: string, config: Record<string, unknown> = {}, now?: () => Date): Sink {
  const parsed = parseConfig(logSink.schema, config, 'audit.emitters[0]');
  const sink = createLogSink(parsed, { configPath: 'audit.emitters[0]', emitterName: 'users-log', dataDir, logger: pino({ level: 'silent' }), metrics: new Registry() }, { now });
  t.after(() => sink.close());
  return sink;
}

const send = (sink: Sink, batch: AuditEvent[]) => sink.send(batch, new AbortController().signal);

const lines = (text: string) => text.split('\n').slice(0, -1);

test('json layout: N events become N lines, each parsing back to the same event, in order', async (t) => {
  const dir = await tempDir(t);
  const sink = open(t, dir);
  const first = events(3);
  const second = events(4, 3);
  assert.deepEqual(await send(sink, first), first.map(() => ({ status: 'delivered' })));
  await send(sink, second);

  const text = await readFile(join(dir, 'logs', 'audit.log'), 'utf8');
  assert.ok(text.endsWith('\n'));
  assert.deepEqual(lines(text).map((l) => JSON.parse(l)), [...first, ...second]);
});

test('a batch of more lines than one writev takes (1 024 buffers) is written whole and in order', async (t) => {
  const dir = await tempDir(t);
  const sink = open(t, dir);
  // Each line is two buffers (the event's bytes, then its newline): 1 500 events need three writev calls.
  const batch = events(1500);
  await send(sink, batch);
  assert.deepEqual(lines(await readFile(join(dir, 'logs', 'audit.log'), 'utf8')).map((l) => JSON.parse(l)), batch);
});

/** Appends `payloads` to the log emitter's journal as they are (as a journal would hold them) and waits until none is queued. */
async function deliverStored(t: TestContext, dir: string, payloads: Buffer[]) {
  const sink = open(t, dir);
  const { journal, queue } = await startEmitter(t, sink, { name: 'users-log', dir });
  await journal.append(payloads.map((payload, i) => ({ eventId: `e${i}`, partitionKey: null, payload, destinations: ['users-log'] })));
  await waitFor(() => queue.depth === 0, 'every entry delivered or dead-lettered');
  const deadLetters = (await readFile(join(dir, 'dead.ndjson'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { eventId: string; reason: string });
  return { written: await readFile(join(dir, 'logs', 'audit.log')), deadLetters };
}

test('json layout through the emitter: lines are the stored bytes exactly; an entry that would not be one line of a JSON object is dead-lettered alone', async (t) => {
  const dir = await tempDir(t);
  // Kept as stored, key order and escapes included (a serialisation of the parsed event would write "\u00e9" as "é").
  const good = [Buffer.from(JSON.stringify(event(1))), Buffer.from('{"time":"2026-11-23T12:00:02.000Z","id":"x","details":{"name":"Ren\\u00e9"}}'), Buffer.from(JSON.stringify(event(3)))];
  // Valid JSON with a raw line break as whitespace would split one event over two lines; an array or a scalar is no event line.
  const bad = [Buffer.from('{"id":\n"lf"}'), Buffer.from('{"id":"cr"\r}'), Buffer.from('["not","an","object"]'), Buffer.from('42')];
  const { written, deadLetters } = await deliverStored(t, dir, [good[0]!, ...bad, good[1]!, good[2]!]);
  assert.ok(written.equals(Buffer.concat(good.flatMap((p) => [p, Buffer.from('\n')]))), written.toString());
  assert.deepEqual(deadLetters.map((d) => d.eventId), ['e1', 'e2', 'e3', 'e4']);
  for (const d of deadLetters) assert.match(d.reason, /not one line of a JSON object/);
});

test('each logger writes its own file by default, so two log emitters never share one', async (t) => {
  const dir = await tempDir(t);
  await send(open(t, dir, { logger: 'AUDIT' }), events(1));
  await send(open(t, dir, { logger: 'AUDITADMIN' }), events(2));
  assert.equal(lines(await readFile(join(dir, 'logs', 'audit.log'), 'utf8')).length, 1);
  assert.equal(lines(await readFile(join(dir, 'logs', 'auditadmin.log'), 'utf8')).length, 2);
});

test('rollover at UTC midnight archives the previous day, gzip-compressed, and starts a fresh file', async (t) => {
  const dir = await tempDir(t);
  const c = clock('2026-11-23T23:59:59.000Z');
  const sink = open(t, dir, {}, c.now);
  const day1 = events(3);
  await send(sink, day1.slice(0, 2));
  await send(sink, day1.slice(2));
  c.set('2026-11-24T00:00:00.500Z');
  const day2 = events(2, 3);
  await send(sink, day2);

  const archived = gunzipSync(await readFile(join(dir, 'logs', 'archive', 'audit.2026-11-23.log.gz'))).toString('utf8');
  assert.deepEqual(lines(archived).map((l) => JSON.parse(l)), day1);
  assert.deepEqual(lines(await readFile(join(dir, 'logs', 'audit.log'), 'utf8')).map((l) => JSON.parse(l)), day2);
  assert.deepEqual(await readdir(join(dir, 'logs', 'archive')), ['audit.2026-11-23.log.gz'], 'no temporary file left behind');
});

test('archivePattern without .gz keeps archives uncompressed, at the configured place', async (t) => {
  const dir = await tempDir(t);
  const c = clock('2026-11-23T10:00:00.000Z');
  const sink = open(t, dir, { file: 'audit-blitz.log', archivePattern: 'old/audit-blitz.%d{yyyy-MM-dd}.log' }, c.now);
  const day1 = events(2);
  await send(sink, day1);
  c.set('2026-11-24T10:00:00.000Z');
  await send(sink, events(1));
  const archived = await readFile(join(dir, 'old', 'audit-blitz.2026-11-23.log'), 'utf8');
  assert.deepEqual(lines(archived).map((l) => JSON.parse(l)), day1);
});

test('a file last written on an earlier day is archived under that day before the first write', async (t) => {
  const dir = await tempDir(t);
  const logs = join(dir, 'logs');
  await mkdir(logs);
  const old = events(2);
  await writeFile(join(logs, 'audit.log'), old.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const lastWrite = new Date('2026-11-22T18:30:00.000Z');
  await utimes(join(logs, 'audit.log'), lastWrite, lastWrite);

  const sink = open(t, dir, {}, clock('2026-11-24T08:00:00.000Z').now);
  const fresh = events(1, 2);
  await send(sink, fresh);

  const archived = gunzipSync(await readFile(join(logs, 'archive', 'audit.2026-11-22.log.gz'))).toString('utf8');
  assert.deepEqual(lines(archived).map((l) => JSON.parse(l)), old);
  assert.deepEqual(lines(await readFile(join(logs, 'audit.log'), 'utf8')).map((l) => JSON.parse(l)), fresh);
});

test('a rollover interrupted by a crash (half-written temporary archive) is redone from the intact source', async (t) => {
  const dir = await tempDir(t);
  const logs = join(dir, 'logs');
  await mkdir(join(logs, 'archive'), { recursive: true });
  const old = events(3);
  await writeFile(join(logs, 'audit.log'), old.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const lastWrite = new Date('2026-11-23T23:59:59.000Z');
  await utimes(join(logs, 'audit.log'), lastWrite, lastWrite);
  await writeFile(join(logs, 'archive', '.audit.2026-11-23.log.gz.tmp'), gzipSync(JSON.stringify(old[0])).subarray(0, 20));

  const sink = open(t, dir, {}, clock('2026-11-24T00:05:00.000Z').now);
  await send(sink, events(1, 3));

  assert.deepEqual(await readdir(join(logs, 'archive')), ['audit.2026-11-23.log.gz']);
  const archived = gunzipSync(await readFile(join(logs, 'archive', 'audit.2026-11-23.log.gz'))).toString('utf8');
  assert.deepEqual(lines(archived).map((l) => JSON.parse(l)), old);
});

test('rolling a day that already has an archive appends to it instead of overwriting it', async (t) => {
  const dir = await tempDir(t);
  const archiveDir = join(dir, 'logs', 'archive');
  await mkdir(archiveDir, { recursive: true });
  await writeFile(join(archiveDir, 'audit.2026-11-23.log.gz'), gzipSync('earlier line\n'));
  const c = clock('2026-11-23T22:00:00.000Z');
  const sink = open(t, dir, {}, c.now);
  const day1 = events(1);
  await send(sink, day1);
  c.set('2026-11-24T01:00:00.000Z');
  await send(sink, events(1, 1));
  const archived = gunzipSync(await readFile(join(archiveDir, 'audit.2026-11-23.log.gz'))).toString('utf8');
  assert.deepEqual(lines(archived), ['earlier line', JSON.stringify(day1[0])]);
});

test('maxHistory deletes archives older than that many days at rollover, and nothing else', async (t) => {
  const dir = await tempDir(t);
  const archiveDir = join(dir, 'logs', 'archive');
  await mkdir(archiveDir, { recursive: true });
  for (const day of ['2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22']) {
    await writeFile(join(archiveDir, `audit.${day}.log.gz`), gzipSync(`${day}\n`));
  }
  await writeFile(join(archiveDir, 'notes.txt'), 'not an archive');
  await writeFile(join(archiveDir, 'auditadmin.2026-11-01.log.gz'), gzipSync('another logger\n'));

  const c = clock('2026-11-23T12:00:00.000Z');
  const sink = open(t, dir, { maxHistory: 2 }, c.now);
  await send(sink, events(1));
  c.set('2026-11-24T00:00:01.000Z');
  await send(sink, events(1, 1));

  // Today is the 24th: two days of history are the 22nd and the 23rd.
  assert.deepEqual((await readdir(archiveDir)).sort(), [
    'audit.2026-11-22.log.gz',
    'audit.2026-11-23.log.gz',
    'auditadmin.2026-11-01.log.gz',
    'notes.txt',
  ]);
});

test('totalSizeCap deletes the oldest archives first until the rest fit', async (t) => {
  const dir = await tempDir(t);
  const archiveDir = join(dir, 'logs', 'archive');
  await mkdir(archiveDir, { recursive: true });
  for (const day of ['2026-11-20', '2026-11-21', '2026-11-22']) {
    await writeFile(join(archiveDir, `audit.${day}.log.gz`), Buffer.alloc(1000, day));
  }
  const c = clock('2026-11-23T12:00:00.000Z');
  const sink = open(t, dir, { totalSizeCap: 2500 }, c.now);
  await send(sink, events(1));
  c.set('2026-11-24T00:00:01.000Z');
  await send(sink, events(1, 1));

  const left = (await readdir(archiveDir)).sort();
  assert.deepEqual(left, ['audit.2026-11-21.log.gz', 'audit.2026-11-22.log.gz', 'audit.2026-11-23.log.gz']);
  let total = 0;
  for (const name of left) total += (await stat(join(archiveDir, name))).size;
  assert.ok(total <= 2500, `archives take ${total} bytes`);
});

// Tests run as root, and root ignores permission bits, so a mode-0500 directory
// would not fail here. A path whose parent is a regular file fails for every
// user (ENOTDIR / EEXIST), and "fixing" it is replacing that file by a directory.
test('an unwritable path makes send throw a RetriableError naming the path; once fixed, send succeeds', async (t) => {
  const dir = await tempDir(t);
  const blocker = join(dir, 'logs');
  await writeFile(blocker, 'a regular file where the log directory should be');
  const sink = open(t, dir);
  const batch = events(2);

  await assert.rejects(send(sink, batch), (err: unknown) => {
    assert.ok(err instanceof RetriableError, String(err));
    assert.match(err.message, new RegExp(blocker.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.match(err.message, /ENOTDIR|EEXIST/);
    return true;
  });
  const checked = await sink.check(new AbortController().signal);
  assert.equal(checked[0]!.ok, false);
  assert.match(checked[0]!.detail, /ENOTDIR|EEXIST/);

  await rm(blocker);
  await send(sink, batch);
  assert.deepEqual(lines(await readFile(join(dir, 'logs', 'audit.log'), 'utf8')).map((l) => JSON.parse(l)), batch);
});

test('disk full (a real ENOSPC from /dev/full) maps to a RetriableError naming the path and the code', async () => {
  const err = await writeFile('/dev/full', 'x').then(
    () => assert.fail('/dev/full accepted a write'),
    (e: unknown) => e,
  );
  const mapped = fileError(err, 'append to', '/var/log/audit.log');
  assert.ok(mapped instanceof RetriableError);
  assert.match(mapped.message, /\/var\/log\/audit\.log/);
  assert.match(mapped.message, /ENOSPC/);
  assert.equal(mapped.code, 'LOG_ENOSPC');
});

test('a torn last line (crash mid-write) stays on its own line; new events start on a fresh one', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'logs'));
  await writeFile(join(dir, 'logs', 'audit.log'), `${JSON.stringify(event(0))}\n{"id":"torn`);
  const sink = open(t, dir);
  const batch = events(2, 1);
  await send(sink, batch);
  const got = lines(await readFile(join(dir, 'logs', 'audit.log'), 'utf8'));
  assert.equal(got.length, 4);
  assert.equal(got[1], '{"id":"torn');
  assert.deepEqual(got.slice(2).map((l) => JSON.parse(l)), batch);
});

test('a file moved away between batches (external logrotate) is recreated, not written through a stale handle', async (t) => {
  const dir = await tempDir(t);
  const sink = open(t, dir);
  const before = events(1);
  const after = events(1, 1);
  await send(sink, before);
  await rename(join(dir, 'logs', 'audit.log'), join(dir, 'logs', 'audit.log.1'));
  await send(sink, after);
  assert.deepEqual(lines(await readFile(join(dir, 'logs', 'audit.log.1'), 'utf8')).map((l) => JSON.parse(l)), before);
  assert.deepEqual(lines(await readFile(join(dir, 'logs', 'audit.log'), 'utf8')).map((l) => JSON.parse(l)), after);
});

test('check() reports each step and writes no event', async (t) => {
  const dir = await tempDir(t);
  const sink = open(t, dir);
  const steps = await sink.check(new AbortController().signal);
  assert.deepEqual(
    steps.map((s) => [s.step, s.ok]),
    [
      [`create directory ${join(dir, 'logs')}`, true],
      [`open ${join(dir, 'logs', 'audit.log')} for append`, true],
      [`write to archive directory ${join(dir, 'logs', 'archive')}`, true],
    ],
  );
  assert.equal((await readFile(join(dir, 'logs', 'audit.log'))).length, 0);
  assert.deepEqual(await readdir(join(dir, 'logs', 'archive')), []);
});
