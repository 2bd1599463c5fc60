import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import { ConfigError, RetriableError } from '../../src/core/errors.js';
import type { AuditEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/logger.js';
import { createSink as createConfiguredSink, Pipeline } from '../../src/pipeline/pipeline.js';
import { SINKS } from '../../src/pipeline/sink-registry.js';
import { AuditStoreSink, auditStoreSink } from '../../src/sinks/audit-store.js';
import type { DeliveryOutcome, SinkContext } from '../../src/sinks/sink.js';
import type { AuditStore } from '../../src/store/audit-store.js';
import { PostgresAuditStore } from '../../src/store/postgres-store.js';
import { SqliteAuditStore } from '../../src/store/sqlite-store.js';
import { freePort } from '../support/free-port.js';
import { tempDir, waitFor } from '../support/temp.js';
import { eventSeries, makeEvent } from '../store/events.js';
import { createPgDatabase } from '../support/pg-database.js';
import { tcpProxy } from '../support/tcp-proxy.js';

const PATH = 'audit.emitters[0]';

function context(dataDir: string): SinkContext {
  return { configPath: 'audit.emitters[0]', emitterName: 'audit-store', dataDir, logger: createLogger('warn'), metrics: new Registry() };
}

/** A sink from the keys a user writes in the emitter block (the common keys removed, as the pipeline does). */
function createSink(t: TestContext, keys: Record<string, unknown>, dataDir: string): AuditStoreSink {
  const sink = auditStoreSink.create(parseConfig(auditStoreSink.schema, keys, PATH), context(dataDir));
  assert.ok(sink instanceof AuditStoreSink);
  t.after(() => sink.close());
  return sink;
}

const signal = () => new AbortController().signal;

test('audit-store: Blitz\'s block {"type":"audit-store","enabled":true} stores events in ${dataDir}/audit.db', async (t) => {
  const dataDir = await tempDir(t);
  const { emitters: [resolved] } = Pipeline.validate({ dataDir, audit: { emitters: [{ type: 'audit-store', enabled: true }] } });
  assert.equal(await SINKS.get('audit-store')!.load(), auditStoreSink);
  const sink = await createConfiguredSink(resolved!, context(dataDir));
  t.after(() => sink.close());
  assert.ok(sink instanceof AuditStoreSink);
  assert.equal(sink.batch.maxEvents, 5000);

  const batch = eventSeries(3);
  assert.deepEqual(await sink.send(batch, signal()), batch.map(() => ({ status: 'delivered' })));
  assert.ok(existsSync(join(dataDir, 'audit.db')));
  // What the search service reads: the sink's own store.
  const page = await sink.store.search({ limit: 10 });
  assert.deepEqual(page.events.map((e) => e.id), batch.map((e) => e.id).reverse());
});

test('audit-store: a replayed batch is delivered again but stored once', async (t) => {
  const sink = createSink(t, {}, await tempDir(t));
  const batch = eventSeries(5);
  await sink.send(batch, signal());
  const again = await sink.send([...batch, makeEvent({ id: 'new-one' })], signal());
  assert.ok(again.every((o) => o.status === 'delivered'));
  assert.equal(await sink.store.count(), 6);
});

for (const backend of ['sqlite', 'postgres'] as const) {
  test(`audit-store (${backend}): a producer resending its event is a duplicate in the metrics and the emitter status; another producer's same id is not`, async (t) => {
    const dataDir = await tempDir(t);
    const url = backend === 'postgres' ? (await createPgDatabase(t)).url : undefined;
    const ctx = context(dataDir);
    const sink = auditStoreSink.create(parseConfig(auditStoreSink.schema, url ? { url } : {}, PATH), ctx) as AuditStoreSink;
    t.after(() => sink.close());
    const duplicates = async () => {
      const { values } = await ctx.metrics.getSingleMetric('auditstream_store_duplicate_events_total')!.get();
      return values.find((v) => v.labels.component_id === 'audit-store')?.value;
    };
    assert.equal(await duplicates(), 0, 'the series exists from the start');
    const foxpass = makeEvent({ id: '42', source: 'foxpass' });
    await sink.send([foxpass, makeEvent({ id: '42', source: 'blitz' })], signal());
    assert.deepEqual(sink.status(), { duplicateEvents: 0 });
    const outcomes = await sink.send([foxpass, makeEvent({ id: '43', source: 'foxpass' })], signal());
    assert.ok(outcomes.every((o) => o.status === 'delivered'), 'a duplicate is delivered: it is stored already');
    assert.equal(await duplicates(), 1);
    assert.deepEqual(sink.status(), { duplicateEvents: 1 });
    assert.equal(await sink.store.count(), 3);
  });
}

test('audit-store: url forms choose the backend and place', async (t) => {
  const dataDir = await tempDir(t);
  const relative = createSink(t, { url: 'sqlite:stores/relative.db' }, dataDir);
  const bare = createSink(t, { url: join(dataDir, 'bare.db') }, dataDir);
  await relative.send([makeEvent()], signal());
  await bare.send([makeEvent()], signal());
  assert.ok(existsSync(join(dataDir, 'stores', 'relative.db')));
  assert.ok(existsSync(join(dataDir, 'bare.db')));
  assert.match(createSink(t, { url: 'postgresql://postgres@127.0.0.1:5432/x' }, dataDir).store.location, /^postgresql:\/\//);
});

test('audit-store: bad keys fail at start-up naming the key', () => {
  const refused = (keys: Record<string, unknown>, path: string, message: RegExp) =>
    assert.throws(
      () => parseConfig(auditStoreSink.schema, keys, PATH),
      (err: unknown) => err instanceof ConfigError && err.path === path && message.test(err.problem),
    );
  refused({ url: 'mysql://db/audit' }, `${PATH}.url`, /unsupported scheme/);
  refused({ url: 'sqlite:' }, `${PATH}.url`, /file path/);
  refused({ url: '' }, `${PATH}.url`, /.+/);
  refused({ batchSize: 0 }, `${PATH}.batchSize`, /.+/);
  refused({ poolSize: 'ten' }, `${PATH}.poolSize`, /.+/);
  refused({ batchsize: 10 }, `${PATH}.batchsize`, /unknown key/);
});

test('audit-store: check() on a reachable PostgreSQL passes every step', async (t) => {
  const { url, own } = await createPgDatabase(t);
  const sink = own(createSink(t, { url, poolSize: 2, batchSize: 100 }, await tempDir(t)));
  assert.equal(sink.batch.maxEvents, 100);
  const steps = await sink.check(signal());
  assert.ok(steps.length >= 2);
  assert.ok(steps.every((s) => s.ok), JSON.stringify(steps));
});

test('audit-store: PostgreSQL down at start-up: create succeeds, send throws RetriableError, check explains', async (t) => {
  const port = await freePort();
  const sink = createSink(t, { url: `postgres://postgres@127.0.0.1:${port}/audit` }, await tempDir(t));
  await assert.rejects(sink.send([makeEvent()], signal()), RetriableError);
  const steps = await sink.check(signal());
  assert.equal(steps[0]?.ok, false);
  assert.match(steps[0]!.detail, /ECONNREFUSED|connect/i);
});

test('audit-store: a row PostgreSQL refuses is rejected alone; the rest of the batch is delivered', async (t) => {
  const { url, own } = await createPgDatabase(t);
  const sink = own(createSink(t, { url }, await tempDir(t)));
  const batch = [makeEvent({ id: 'fine-1' }), makeEvent({ id: 'nul', raw: 'a\u0000b' }), makeEvent({ id: 'fine-2' })];
  const outcomes = await sink.send(batch, signal());
  assert.deepEqual(outcomes[0], { status: 'delivered' });
  assert.equal(outcomes[1]?.status, 'rejected');
  assert.match(outcomes[1]?.status === 'rejected' ? outcomes[1].reason : '', /0x00|invalid byte sequence/);
  assert.deepEqual(outcomes[2], { status: 'delivered' });
  assert.deepEqual((await sink.store.search({})).events.map((e) => e.id).sort(), ['fine-1', 'fine-2']);
});

test('audit-store: an event with an unreadable time is rejected with its id (SQLite)', async (t) => {
  const sink = createSink(t, {}, await tempDir(t));
  const outcomes = await sink.send([makeEvent({ id: 'bad-time', time: 'soon' }), makeEvent({ id: 'good' })], signal());
  assert.equal(outcomes[0]?.status, 'rejected');
  assert.match(outcomes[0]?.status === 'rejected' ? outcomes[0].reason : '', /bad-time/);
  assert.deepEqual(outcomes[1], { status: 'delivered' });
});

test('audit-store (SQLite): the journal\'s stored bytes are stored as the events they encode; bytes that are not an event are rejected alone', async (t) => {
  const sink = createSink(t, {}, await tempDir(t));
  assert.ok(sink.sendStored, 'the SQLite store takes stored bytes');
  const good = eventSeries(2);
  const bytes = (e: object) => Buffer.from(JSON.stringify(e));
  const wrongType = { ...makeEvent({ id: 'type-object' }), type: {} };
  const batch = [bytes(good[0]!), Buffer.from('{"id":"torn","time":"2024-01-0'), Buffer.from('null'), bytes(makeEvent({ id: 'bad-time', time: 'soon' })), bytes(wrongType), bytes(good[1]!)];
  const outcomes = await sink.sendStored(batch, signal());
  const reason = (i: number) => (outcomes[i]?.status === 'rejected' ? outcomes[i].reason : '');
  assert.deepEqual(outcomes.map((o) => o.status), ['delivered', 'rejected', 'rejected', 'rejected', 'rejected', 'delivered']);
  assert.match(reason(1), /queue entry unreadable/);
  assert.match(reason(2), /queue entry unreadable/);
  assert.match(reason(3), /bad-time/);
  // A field of another type would fail SQLite's bind (a TypeError, retried forever): refused alone instead.
  assert.match(reason(4), /type-object: type is not a string/);
  for (const event of good) assert.deepEqual(await sink.store.get(event.id, event.source), event);
  assert.deepEqual(await sink.sendStored([bytes(good[0]!)], signal()), [{ status: 'delivered' }]);
  assert.deepEqual(sink.status(), { duplicateEvents: 1 }, 'a replay through stored bytes is counted as a duplicate');
});

test('audit-store: PostgreSQL going away and coming back: retriable while down, delivering once back', async (t) => {
  const { url, own } = await createPgDatabase(t);
  const relay = await tcpProxy(t, { host: '127.0.0.1', port: 5432 });
  await relay.down();
  const viaRelay = new URL(url);
  viaRelay.port = String(relay.port);
  const sink = own(createSink(t, { url: viaRelay.toString() }, await tempDir(t)));

  // Down at start-up: nothing is listening yet.
  await assert.rejects(sink.send([makeEvent({ id: 'first' })], signal()), RetriableError);
  await relay.up();
  assert.deepEqual(await sink.send([makeEvent({ id: 'first' })], signal()), [{ status: 'delivered' }]);

  // Down while running: pooled connections are cut.
  await relay.down();
  await assert.rejects(sink.send([makeEvent({ id: 'second' })], signal()), RetriableError);
  await relay.up();
  const outcome = await waitFor(() => sink.send([makeEvent({ id: 'second' })], signal()), 'delivery once PostgreSQL is back');
  assert.deepEqual(outcome, [{ status: 'delivered' }]);
  assert.deepEqual((await sink.store.search({})).events.map((e) => e.id).sort(), ['first', 'second']);
});

/** Counts the calls of the store's insert methods and the events sent in them; the store itself does the work. Before the sink is made: it binds insertJson. */
function countInserts(store: AuditStore): { calls: number; rows: number } {
  const count = { calls: 0, rows: 0 };
  const insert = store.insert.bind(store);
  store.insert = (events) => (count.calls++, (count.rows += events.length), insert(events));
  const insertJson = store.insertJson?.bind(store);
  if (insertJson) store.insertJson = (payloads) => (count.calls++, (count.rows += payloads.length), insertJson(payloads));
  return count;
}

const BATCH = 2000;

const badEvents = (bad: readonly unknown[]) => (bad.length === 1 ? 'one bad event' : `${bad.length} bad events`);

/**
 * A batch of BATCH good events with `bad` in place of the events at the
 * middle (one at 1 000, three at 700, 1 000 and 1 300): sent through
 * `send`, its outcomes, and the ids of the good events.
 */
async function sendWithBad(
  bad: readonly AuditEvent[],
  send: (batch: AuditEvent[]) => Promise<DeliveryOutcome[]>,
): Promise<{ outcomes: DeliveryOutcome[]; at: number[]; good: AuditEvent[] }> {
  const batch = eventSeries(BATCH);
  const at = bad.length === 1 ? [1000] : [700, 1000, 1300];
  const good = batch.filter((_, i) => !at.includes(i));
  bad.forEach((event, j) => (batch[at[j]!] = event));
  return { outcomes: await send(batch), at, good };
}

function assertOutcomes(outcomes: DeliveryOutcome[], at: number[], reasons: RegExp[]): void {
  assert.equal(outcomes.length, BATCH);
  outcomes.forEach((o, i) => {
    const j = at.indexOf(i);
    if (j < 0) return assert.deepEqual(o, { status: 'delivered' }, `event ${i}`);
    assert.equal(o.status, 'rejected', `event ${i}`);
    assert.match(o.status === 'rejected' ? o.reason : '', reasons[j]!);
  });
}

async function assertStored(store: AuditStore, good: AuditEvent[], bad: readonly AuditEvent[]): Promise<void> {
  assert.equal(await store.count(), good.length, 'every good event stored, once');
  for (const event of [good[0]!, good[999]!, good.at(-1)!]) assert.deepEqual(await store.get(event.id, event.source), event);
  for (const event of bad) assert.equal(await store.get(event.id), undefined);
}

// Refused by SQLite itself (NOT NULL), in the writer thread's transaction; and by the checks before it.
const NULL_TYPE = () => makeEvent({ id: 'null-type', type: null as unknown as string });
const BAD_TIME = () => makeEvent({ id: 'bad-time', time: 'soon' });
const OBJECT_MESSAGE = () => makeEvent({ id: 'object-message', message: {} as unknown as string });
const SQLITE_REASONS = [/NOT NULL constraint failed: audit_events\.type/, /bad-time: time "soon" is not a timestamp/, /object-message: message is not a string/];

for (const bad of [[NULL_TYPE()], [NULL_TYPE(), BAD_TIME(), OBJECT_MESSAGE()]]) {
  test(`audit-store (SQLite): ${badEvents(bad)} in a batch of ${BATCH}: each rejected naming its field, the rest stored, in ${bad.length + 1} inserts rather than one per event`, async (t) => {
    const store = new SqliteAuditStore({ path: join(await tempDir(t), 'audit.db') });
    const inserts = countInserts(store);
    const sink = new AuditStoreSink(store, 5000, 'audit-store', new Registry());
    t.after(() => sink.close());
    const { outcomes, at, good } = await sendWithBad(bad, (batch) => sink.send(batch, signal()));
    assertOutcomes(outcomes, at, SQLITE_REASONS);
    assert.equal(inserts.calls, bad.length + 1, 'each refusal names its event: it is set aside and the rest sent again at once');
    await assertStored(store, good, bad);
  });

  test(`audit-store (SQLite, stored bytes): ${badEvents(bad)} in a batch of ${BATCH}: each rejected alone, the rest stored, in ${bad.length + 1} inserts`, async (t) => {
    const store = new SqliteAuditStore({ path: join(await tempDir(t), 'audit.db') });
    const inserts = countInserts(store);
    const sink = new AuditStoreSink(store, 5000, 'audit-store', new Registry());
    t.after(() => sink.close());
    // The bad time's place holds a torn entry instead: bytes the writer thread cannot parse.
    const bytes = (batch: AuditEvent[]) => batch.map((e) => Buffer.from(e.id === 'bad-time' ? '{"id":"torn","time":"2024-01-0' : JSON.stringify(e)));
    const { outcomes, at, good } = await sendWithBad(bad, (batch) => sink.sendStored!(bytes(batch), signal()));
    assertOutcomes(outcomes, at, [SQLITE_REASONS[0]!, /queue entry unreadable/, SQLITE_REASONS[2]!]);
    assert.equal(inserts.calls, bad.length + 1);
    await assertStored(store, good, bad);
  });
}

test(`audit-store (SQLite, stored bytes): a batch of ${BATCH} whose later half is every other event bad: each rejected, the rest stored, with O(n log n) rows sent rather than n per refusal`, async (t) => {
  const store = new SqliteAuditStore({ path: join(await tempDir(t), 'audit.db') });
  const inserts = countInserts(store);
  const sink = new AuditStoreSink(store, 5000, 'audit-store', new Registry());
  t.after(() => sink.close());
  const batch = eventSeries(BATCH);
  const at = batch.map((_, i) => i).filter((i) => i >= BATCH / 2 && i % 2 === 1);
  for (const i of at) batch[i] = makeEvent({ id: `null-type-${i}`, type: null as unknown as string });
  const outcomes = await sink.sendStored!(batch.map((e) => Buffer.from(JSON.stringify(e))), signal());
  assertOutcomes(outcomes, at, at.map(() => SQLITE_REASONS[0]!));
  // Set aside one refusal at a time, the 500 would send about 500 × 1 500 rows; halving sends each event in at most log2(n) calls.
  const bound = BATCH * (16 + 1 + Math.ceil(Math.log2(BATCH)));
  assert.ok(inserts.rows <= bound, `${inserts.rows} rows sent, at most ${bound}`);
  assert.equal(await store.count(), BATCH - at.length);
});

test(`audit-store (SQLite): 17 bad events in a batch of ${BATCH}, one more than it sets aside before halving: the refusal past that still sets its named event aside, so only the good rest is halved`, async (t) => {
  const store = new SqliteAuditStore({ path: join(await tempDir(t), 'audit.db') });
  const inserts = countInserts(store);
  const sink = new AuditStoreSink(store, 5000, 'audit-store', new Registry());
  t.after(() => sink.close());
  const batch = eventSeries(BATCH);
  const at = Array.from({ length: 17 }, (_, i) => i * 100);
  for (const i of at) batch[i] = makeEvent({ id: `null-type-${i}`, type: null as unknown as string });
  const outcomes = await sink.send(batch, signal());
  assertOutcomes(outcomes, at, at.map(() => SQLITE_REASONS[0]!));
  // 17 refused calls, each naming its event, then the two halves of the good rest: a known bad event is never searched for again.
  assert.equal(inserts.calls, at.length + 2);
  assert.equal(await store.count(), BATCH - at.length);
});

// Values PostgreSQL refuses server-side, which cannot say which row it was: found by halving the batch.
const NUL_RAW = () => makeEvent({ id: 'nul-raw', raw: 'a\u0000b' });
const NUL_ACTOR = () => makeEvent({ id: 'nul-actor', actor: 'al\u0000ice' });
const NUL_REASON = /0x00|invalid byte sequence/;

for (const bad of [[NUL_RAW()], [NUL_RAW(), NUL_ACTOR(), BAD_TIME()]]) {
  test(`audit-store (PostgreSQL): ${badEvents(bad)} in a batch of ${BATCH}, refused by the server where it cannot say which: each rejected alone, the rest stored, in O(k log n) inserts`, async (t) => {
    const { url, own } = await createPgDatabase(t);
    const store = own(new PostgresAuditStore({ url, poolSize: 2 }));
    const inserts = countInserts(store);
    const sink = new AuditStoreSink(store, 5000, 'audit-store', new Registry());
    const { outcomes, at, good } = await sendWithBad(bad, (batch) => sink.send(batch, signal()));
    assertOutcomes(outcomes, at, [NUL_REASON, NUL_REASON, /bad-time: time "soon" is not a timestamp/]);
    const serverRefused = bad.filter((e) => e.id.startsWith('nul-')).length;
    // The bad time is refused before sending, naming its event: one insert to set it aside.
    const bound = 1 + 2 * serverRefused * Math.ceil(Math.log2(BATCH)) + (bad.length - serverRefused);
    assert.ok(inserts.calls <= bound, `${inserts.calls} inserts, at most ${bound}`);
    await assertStored(store, good, bad);
  });
}
