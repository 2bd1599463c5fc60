import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { randomName } from '../support/temp.js';
import { readAllRecords, startKinesalite, startKinesisLocal, type KinesisEmulator } from '../support/kinesis-emulators.js';

// The emulator helpers other tests build on: each starts, creates an ACTIVE
// multi-shard stream, and the independent reader returns what was written.
for (const [name, start] of [
  ['kinesalite', startKinesalite],
  ['kinesis-local', startKinesisLocal],
] as const) {
  test(`${name}: started as a child process, stream created ACTIVE, records read back from every shard`, async (t) => {
    const emu: KinesisEmulator = await start(t);
    const stream = randomName('emu');
    const arn = await emu.createStream(stream, 3);
    assert.match(arn, /stream\//);
    const entries = Array.from({ length: 30 }, (_, i) => ({ Data: Buffer.from(`r${i}\n`), PartitionKey: `k${i}` }));
    const res = await emu.client.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
    assert.equal(res.FailedRecordCount ?? 0, 0);
    const read = await readAllRecords(emu.client, stream);
    assert.deepEqual(read.map((r) => r.data.toString()).sort(), entries.map((e) => e.Data.toString()).sort());
    assert.ok(new Set(read.map((r) => r.shardId)).size > 1, 'records land on more than one shard');
    assert.ok(emu.process.pid);
  });
}
