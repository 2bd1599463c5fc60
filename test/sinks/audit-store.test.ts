import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import { ConfigError, RetriableError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { createSink as createConfiguredSink, Pipeline } from '../../src/pipeline/pipeline.js';
import { SINKS } from '../../src/pipeline/sink-registry.js';
import { AuditStoreSink, auditStoreSink } from '../../src/sinks/audit-store.js';
import type { SinkContext } from '../../src/sinks/sink.js';
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
