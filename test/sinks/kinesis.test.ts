import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { AuditEvent } from '../../src/core/event.js';
import { deaggregate } from '../../src/formats/containers/kpl.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { randomName } from '../support/temp.js';
import {
  EMULATOR_CREDENTIALS,
  auditEvents,
  readAllRecords,
  sendUntilDelivered,
  startKinesalite,
  startKinesisLocal,
  testSinkContext,
  type KinesisEmulator,
  type ReadRecord,
} from '../support/kinesis-emulators.js';

// End to end against both real emulators: events go out through sink.send and
// are read back with the SDK directly (test/support/kinesis-emulators.ts), not
// with auditstream's own Kinesis source.

const SHARDS = 4;

function sinkFor(t: TestContext, emu: KinesisEmulator, stream: string, extra: Record<string, unknown> = {}) {
  const config = kinesisSinkDefinition.schema.parse({
    streamName: stream,
    region: 'us-east-1',
    endpoint: emu.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    ...extra,
  });
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  return sink;
}

/** Every user record, unpacking KPL aggregates, with the shard and partition key it arrived with. */
function userRecords(records: ReadRecord[]): { shardId: string; partitionKey: string; data: string }[] {
  return records.flatMap((r) => {
    const inner = deaggregate(r.data);
    if (!inner) return [{ shardId: r.shardId, partitionKey: r.partitionKey, data: r.data.toString('utf8') }];
    return inner.map((u) => ({ shardId: r.shardId, partitionKey: u.partitionKey, data: u.data.toString('utf8') }));
  });
}

function assertSameEvents(read: { data: string }[], sent: AuditEvent[]): void {
  for (const r of read) assert.ok(r.data.endsWith('\n') && !r.data.slice(0, -1).includes('\n'), 'one JSON document per record, ending with "\\n"');
  const got = read.map((r) => JSON.parse(r.data) as AuditEvent);
  const ids = got.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no event arrives twice');
  const byId = new Map(got.map((e) => [e.id, e]));
  assert.deepEqual([...byId.keys()].sort(), sent.map((e) => e.id).sort(), 'nothing missing, nothing extra');
  for (const e of sent) assert.deepEqual(byId.get(e.id), e, `event ${e.id} arrives unchanged`);
}

/** Per actor, the order the events were read in (shard order = sequence order). */
function assertPerActorOrder(read: { data: string; partitionKey: string }[], sent: AuditEvent[]): void {
  const seen = new Map<string, string[]>();
  for (const r of read) {
    const e = JSON.parse(r.data) as AuditEvent;
    assert.equal(r.partitionKey, e.actor, 'the partition key is the actor');
    seen.set(e.actor!, [...(seen.get(e.actor!) ?? []), e.id]);
  }
  for (const [actor, ids] of seen) {
    assert.deepEqual(ids, sent.filter((e) => e.actor === actor).map((e) => e.id), `events of ${actor} keep their order`);
  }
}

for (const [name, start, count] of [
  ['kinesalite', startKinesalite, 400],
  ['kinesis-local', startKinesisLocal, 300],
] as const) {
  test(`${name}: random partition keys — every event arrives once, as JSON + "\\n", spread over the shards`, async (t) => {
    const emu = await start(t);
    const stream = randomName('audit');
    await emu.createStream(stream, SHARDS);
    const sink = sinkFor(t, emu, stream);
    assert.equal(sink.partitionKeyOf, undefined, 'random keys impose no ordering');
    const events = auditEvents(count);
    const report = await sendUntilDelivered(sink, events);
    assert.equal(report.rejected.length, 0);
    const read = await readAllRecords(emu.client, stream);
    assert.equal(read.length, count, 'one record per event');
    assertSameEvents(userRecords(read), events);
    const perShard = new Map<string, number>();
    for (const r of read) perShard.set(r.shardId, (perShard.get(r.shardId) ?? 0) + 1);
    assert.equal(perShard.size, SHARDS, `records on every shard: ${JSON.stringify([...perShard])}`);
    for (const n of perShard.values()) assert.ok(n > count / SHARDS / 3, `no shard starved: ${JSON.stringify([...perShard])}`);
  });

  test(`${name}: partitionKey actor — one user's events stay in order`, async (t) => {
    const emu = await start(t);
    const stream = randomName('audit');
    await emu.createStream(stream, SHARDS);
    const sink = sinkFor(t, emu, stream, { partitionKey: 'actor', maxRecordsPerRequest: 100 });
    const events = auditEvents(count, 9);
    assert.equal(sink.partitionKeyOf?.(events[3]!), 'user3');
    await sendUntilDelivered(sink, events);
    const read = userRecords(await readAllRecords(emu.client, stream));
    assertSameEvents(read, events);
    assertPerActorOrder(read, events);
    assert.ok(new Set(read.map((r) => r.shardId)).size > 1, 'actors spread over shards');
  });

  test(`${name}: KPL aggregation — aggregates carry every event, one or more per shard, actor order kept`, async (t) => {
    const emu = await start(t);
    const random = randomName('agg');
    const keyed = randomName('aggkey');
    await emu.createStream(random, SHARDS);
    await emu.createStream(keyed, SHARDS);
    const events = auditEvents(count, 9);

    const randomSink = sinkFor(t, emu, random, { aggregation: true });
    await sendUntilDelivered(randomSink, events);
    const rawRandom = await readAllRecords(emu.client, random);
    assert.ok(rawRandom.length < count / 10, `events are packed: ${rawRandom.length} records for ${count} events`);
    assert.equal(new Set(rawRandom.map((r) => r.shardId)).size, SHARDS, 'random keys: every shard gets aggregates');
    assert.ok(rawRandom.every((r) => deaggregate(r.data) !== null), 'every record is a KPL aggregate');
    assertSameEvents(userRecords(rawRandom), events);

    const keyedSink = sinkFor(t, emu, keyed, { aggregation: true, partitionKey: 'actor' });
    await sendUntilDelivered(keyedSink, events);
    const read = userRecords(await readAllRecords(emu.client, keyed));
    assertSameEvents(read, events);
    assertPerActorOrder(read, events);
  });
}

test('kinesis-local: streamArn instead of streamName — check() passes and events arrive', async (t) => {
  const emu = await startKinesisLocal(t);
  const stream = randomName('byarn');
  const arn = await emu.createStream(stream, 2);
  const config = kinesisSinkDefinition.schema.parse({ streamArn: arn, endpoint: emu.endpoint, credentials: EMULATOR_CREDENTIALS });
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  const steps = await sink.check(new AbortController().signal);
  assert.ok(steps.every((s) => s.ok), JSON.stringify(steps));
  assert.equal(steps[0]!.step, `describe stream ${stream} in us-east-1`);
  const events = auditEvents(30);
  await sendUntilDelivered(sink, events);
  assertSameEvents(userRecords(await readAllRecords(emu.client, stream)), events);
});
