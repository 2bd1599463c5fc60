import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeStreamSummaryCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import type { AuditEvent } from '../../src/core/event.js';
import { deaggregate } from '../../src/formats/containers/kpl.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { randomName, waitFor } from '../support/temp.js';
import { EMULATOR_CREDENTIALS, auditEvents, listAllShards, readAllRecords, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';

// A stream split while the sink runs: the sink notices a write landing on a
// shard it does not know, re-reads the shard map, and from then on its
// aggregates target every open shard, children included.

test('after a shard split the sink re-reads the shard map: aggregates reach every open shard, nothing lost or doubled', async (t) => {
  const emu = await startKinesalite(t);
  const stream = randomName('split');
  await emu.createStream(stream, 2);
  const config = kinesisSinkDefinition.schema.parse({
    streamName: stream,
    region: 'us-east-1',
    endpoint: emu.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    aggregation: true,
    shardMapRefreshSec: 3600,
  });
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  const signal = new AbortController().signal;
  const all = auditEvents(300);
  const [before, stale, fresh] = [all.slice(0, 100), all.slice(100, 200), all.slice(200)];

  assert.ok((await sink.send(before, signal)).every((o) => o.status === 'delivered'));

  const [first] = await listAllShards(emu.client, stream);
  const mid = (BigInt(first!.HashKeyRange!.StartingHashKey!) + BigInt(first!.HashKeyRange!.EndingHashKey!)) / 2n;
  await emu.client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: first!.ShardId!, NewStartingHashKey: mid.toString() }));
  await waitFor(
    async () => (await emu.client.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE',
    'the split to finish',
  );
  const open = (await listAllShards(emu.client, stream)).filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber).map((s) => s.ShardId!);
  assert.equal(open.length, 3);

  // Sent with the map from before the split; Kinesis routes by hash key, so nothing is lost.
  assert.ok((await sink.send(stale, signal)).every((o) => o.status === 'delivered'));
  assert.ok((await sink.send(fresh, signal)).every((o) => o.status === 'delivered'));

  const records = await readAllRecords(emu.client, stream);
  const ids = (rs: typeof records) => rs.flatMap((r) => deaggregate(r.data)!.map((u) => (JSON.parse(u.data.toString()) as AuditEvent).id));
  assert.deepEqual(ids(records).sort(), all.map((e) => e.id).sort(), 'every event exactly once');
  const freshIds = new Set(fresh.map((e) => e.id));
  const freshShards = new Set(records.filter((r) => ids([r]).some((id) => freshIds.has(id))).map((r) => r.shardId));
  assert.deepEqual([...freshShards].sort(), [...open].sort(), 'after the refresh every open shard gets an aggregate');
});
