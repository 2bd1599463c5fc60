import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AuditEvent } from '../../src/core/event.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { startEmitter } from '../support/emitter-harness.js';
import { randomName } from '../support/temp.js';
import { EMULATOR_CREDENTIALS, auditEvents, readAllRecords, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';
import { startThrottlingProxy } from '../support/throttling-proxy.js';

// The whole delivery path: the emitter runtime (durable queue, retries,
// dead-letter file) driving the Kinesis sink against kinesalite behind the
// quota-enforcing proxy (the only test double: no emulator throttles).

test('through the emitter: throttled entries are retried until every event is in the stream once; an oversize event is dead-lettered', async (t) => {
  const emu = await startKinesalite(t);
  const stream = randomName('emitter');
  await emu.createStream(stream, 2);
  const proxy = await startThrottlingProxy(t, { upstream: emu.endpoint, recordsPerSecPerShard: 50 });
  const config = kinesisSinkDefinition.schema.parse({
    streamName: stream,
    region: 'us-east-1',
    endpoint: proxy.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    partitionKey: 'actor',
  });
  const sink = kinesisSinkDefinition.create(config, testSinkContext('kinesis-e2e'));
  const { emitter, deadLetter } = await startEmitter(t, sink, { name: 'kinesis-e2e', type: 'kinesis', closeSink: true });

  const events = auditEvents(200, 5);
  const big: AuditEvent = { ...auditEvents(1, 1, 'big')[0]!, details: { blob: 'y'.repeat(1_100_000) } };
  const { deliveries } = await emitter.enqueue([...events.slice(0, 100), big, ...events.slice(100)], true);
  const reports = await Promise.all(deliveries);
  assert.equal(reports.filter((r) => r.delivered).length, events.length);
  assert.equal(reports[100]!.delivered, false);

  assert.ok(proxy.throttled > 0, 'the proxy throttled some entries');
  const ids = (await readAllRecords(emu.client, stream)).map((r) => (JSON.parse(r.data.toString()) as AuditEvent).id);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  assert.deepEqual([...ids].sort(), events.map((e) => e.id).sort());

  const dead = readFileSync(deadLetter.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { eventId: string; reason: string });
  assert.deepEqual(dead.map((d) => d.eventId), [big.id]);
  assert.match(dead[0]!.reason, /over the Kinesis record limit of 1 MiB/);
});
