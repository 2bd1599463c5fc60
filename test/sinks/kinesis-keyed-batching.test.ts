import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../src/core/event.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { EMULATOR_CREDENTIALS, readAllRecords, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';
import { startThrottlingProxy } from '../support/throttling-proxy.js';
import { randomName } from '../support/temp.js';

// docs/failure-modes.md row 4 (vectordotdev/vector #20575): keyed partitions must not split batches into one record per call.
test('with partitionKey: actor, one PutRecords call carries many keys: 500 events over 100 actors go in one call', async (t) => {
  const emu = await startKinesalite(t);
  const stream = randomName('keyed');
  await emu.createStream(stream, 4);
  // The proxy only counts calls here: its quota is far above what the test sends.
  const proxy = await startThrottlingProxy(t, { upstream: emu.endpoint, recordsPerSecPerShard: 100_000 });
  const config = kinesisSinkDefinition.schema.parse({ streamName: stream, region: 'us-east-1', endpoint: proxy.endpoint, credentials: { ...EMULATOR_CREDENTIALS }, partitionKey: 'actor' });
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  const events: AuditEvent[] = Array.from({ length: 500 }, (_, i) => ({ id: `k-${i}`, time: '2024-01-01T00:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', actor: `user-${i % 100}`, details: {}, raw: '{}' }));
  const outcomes = await sink.send(events, new AbortController().signal);
  assert.ok(outcomes.every((o) => o.status === 'delivered'));
  const puts = proxy.requests.filter((r) => r.operation === 'PutRecords').length;
  assert.equal(puts, 1, `500 keyed records took ${puts} PutRecords calls`);
  const records = await readAllRecords(emu.client, stream);
  assert.equal(records.length, 500);
  assert.equal(new Set(records.map((r) => r.partitionKey)).size, 100);
  // Per key, order is the queue order.
  const byKey = new Map<string, number[]>();
  for (const r of records) {
    const n = Number((JSON.parse(r.data.toString()) as AuditEvent).id.slice(2));
    byKey.set(r.partitionKey, [...(byKey.get(r.partitionKey) ?? []), n]);
  }
  for (const [key, ns] of byKey) assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `order of ${key}`);
});
