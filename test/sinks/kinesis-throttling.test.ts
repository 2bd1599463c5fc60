import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { AuditEvent } from '../../src/core/event.js';
import { deaggregate } from '../../src/formats/containers/kpl.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { randomName } from '../support/temp.js';
import { EMULATOR_CREDENTIALS, auditEvents, readAllRecords, sendUntilDelivered, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';
import { startThrottlingProxy } from '../support/throttling-proxy.js';

// No emulator enforces Kinesis' per-shard quotas, so these tests put
// test/support/throttling-proxy.ts (a quota-enforcing proxy, the only test
// double here) in front of a real kinesalite. The quota is lowered to 50
// records/s/shard so throttling happens within a few hundred events.

const QUOTA = 50;

async function setup(t: TestContext, shards: number, sinkExtra: Record<string, unknown>, proxyOpts: { quota?: number; throttleFirstPerShard?: number } = {}) {
  const emu = await startKinesalite(t);
  const stream = randomName('throttle');
  await emu.createStream(stream, shards);
  const proxy = await startThrottlingProxy(t, { upstream: emu.endpoint, recordsPerSecPerShard: proxyOpts.quota ?? QUOTA,
    ...(proxyOpts.throttleFirstPerShard ? { throttleFirstPerShard: proxyOpts.throttleFirstPerShard } : {}),
  });
  const config = kinesisSinkDefinition.schema.parse({
    streamName: stream,
    region: 'us-east-1',
    endpoint: proxy.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    ...sinkExtra,
  });
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  return { emu, stream, proxy, sink };
}

function assertExactlyOnce(read: { data: Buffer }[], sent: AuditEvent[]): void {
  const ids = read.map((r) => (JSON.parse(r.data.toString('utf8')) as AuditEvent).id);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dupes, [], 'no record that Kinesis accepted is sent again');
  assert.deepEqual([...ids].sort(), sent.map((e) => e.id).sort(), 'every event arrives');
}

test('throttled entries come back as retry and only they are resent: every event arrives exactly once', async (t) => {
  // The sink believes the real 1000/s quota, so the proxy's 50/s throttles it.
  const { emu, stream, proxy, sink } = await setup(t, 2, {});
  const events = auditEvents(250);
  const report = await sendUntilDelivered(sink, events);
  assert.ok(proxy.throttled > 0, 'the proxy throttled some entries');
  assert.ok(report.retries > 0, 'the sink reported them as retry');
  assert.equal(report.rejected.length, 0);
  assertExactlyOnce(await readAllRecords(emu.client, stream), events);
  assert.equal(proxy.forwarded, events.length, 'the emulator received each event once');
});

test('with rateLimit under the shard quota the sink waits instead of being throttled', async (t) => {
  // Sink 40/s against a proxy quota of 100/s: unpaced, 250 events (~125 a shard) would exceed the proxy's
  // one-second burst; the margin absorbs request latency of up to ~1.5 s on a loaded machine.
  const { emu, stream, proxy, sink } = await setup(t, 2, { rateLimit: { recordsPerSecPerShard: 40 } }, { quota: 100 });
  const events = auditEvents(250);
  const report = await sendUntilDelivered(sink, events);
  assert.equal(proxy.throttled, 0, 'no entry was throttled');
  assert.equal(report.retries, 0);
  assertExactlyOnce(await readAllRecords(emu.client, stream), events);
});

test('partitionKey actor under throttling: records behind a throttled one wait for it, so each actor stays in order', async (t) => {
  // One send() spans several PutRecords calls of 100 records; the first puts 50 or more on one shard, over
  // the proxy's burst of 20. Without holding back, a later call would overtake the throttled records.
  const { emu, stream, proxy, sink } = await setup(t, 2, { partitionKey: 'actor', maxRecordsPerRequest: 100 }, { quota: 20 });
  const events = auditEvents(150, 6);
  const report = await sendUntilDelivered(sink, events);
  assert.ok(proxy.throttled > 0 && report.retries > 0);
  const read = await readAllRecords(emu.client, stream);
  assertExactlyOnce(read, events);
  const seen = new Map<string, string[]>();
  for (const r of read) {
    const e = JSON.parse(r.data.toString('utf8')) as AuditEvent;
    seen.set(e.actor!, [...(seen.get(e.actor!) ?? []), e.id]);
  }
  for (const [actor, ids] of seen) assert.deepEqual(ids, events.filter((e) => e.actor === actor).map((e) => e.id), `${actor} in order`);
});

test('aggregation under throttling: a throttled aggregate is retried as a unit and its events arrive exactly once', async (t) => {
  // The sink's bytes/s pacing keeps ~1 MiB aggregates under any quota this test could race against, so the
  // proxy throttles each shard's first aggregate outright. ~1.1 KB events make two aggregates per shard.
  const { emu, stream, proxy, sink } = await setup(t, 2, { aggregation: true }, { throttleFirstPerShard: 1 });
  const events = auditEvents(3000).map((e) => ({ ...e, details: { pad: 'p'.repeat(1000) } }));
  const report = await sendUntilDelivered(sink, events);
  assert.equal(report.rejected.length, 0);
  assert.ok(proxy.throttled > 0 && report.retries > 0, 'some aggregates were throttled and retried');
  const read = await readAllRecords(emu.client, stream);
  assert.equal(proxy.forwarded, read.length, 'only aggregates the proxy admitted reached the stream');
  const ids = read.flatMap((r) => deaggregate(r.data)!.map((u) => (JSON.parse(u.data.toString()) as AuditEvent).id));
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  assert.deepEqual([...ids].sort(), events.map((e) => e.id).sort());
});
