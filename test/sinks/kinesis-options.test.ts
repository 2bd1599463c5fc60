import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { randomName } from '../support/temp.js';
import { EMULATOR_CREDENTIALS, auditEvents, listAllShards, readAllRecords, sendUntilDelivered, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';

test('codec raw sends the producer’s own record + "\\n"; explicitHashKey pins every record to the shard owning it', async (t) => {
  const emu = await startKinesalite(t);
  const stream = randomName('opts');
  await emu.createStream(stream, 3);
  const shards = await listAllShards(emu.client, stream);
  const target = shards[1]!;
  const config = kinesisSinkDefinition.schema.parse({
    streamName: stream,
    region: 'us-east-1',
    endpoint: emu.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    codec: 'raw',
    explicitHashKey: target.HashKeyRange!.StartingHashKey!,
  });
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  const events = auditEvents(50);
  await sendUntilDelivered(sink, events);
  const read = await readAllRecords(emu.client, stream);
  assert.deepEqual(
    read.map((r) => r.data.toString('utf8')),
    events.map((e) => `${e.raw}\n`),
    'raw bytes, in order, one record each',
  );
  assert.deepEqual([...new Set(read.map((r) => r.shardId))], [target.ShardId]);
});
