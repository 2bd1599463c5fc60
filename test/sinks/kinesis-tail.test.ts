import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { PutRecordCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { Command } from 'commander';
import { registerTailCommand, tailStream, unpackRecord, type TailOptions } from '../../src/cli/tail.js';
import { aggregate } from '../../src/formats/containers/kpl.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { randomName, waitFor } from '../support/temp.js';
import { EMULATOR_CREDENTIALS, auditEvents, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';

const envelope = (messages: string[]) => ({
  messageType: 'DATA_MESSAGE',
  owner: '123456789012',
  logGroup: 'CloudTrail/logs',
  logStream: '123456789012_CloudTrail_us-east-1',
  subscriptionFilters: ['all'],
  logEvents: messages.map((message, i) => ({ id: String(i), timestamp: 1_700_000_000_000 + i, message })),
});

test('unpackRecord: plain lines, KPL, gzip CloudWatch envelopes, base64 text, binary', () => {
  assert.deepEqual(unpackRecord(Buffer.from('{"a":1}\n')), ['{"a":1}']);
  const kpl = aggregate([
    { partitionKey: 'k', data: Buffer.from('one\n') },
    { partitionKey: 'k', data: gzipSync(JSON.stringify(envelope(['two', 'three']))) },
  ]);
  assert.deepEqual(unpackRecord(kpl), ['one', 'two', 'three']);
  const gz = gzipSync(JSON.stringify(envelope(['{"eventName":"ConsoleLogin"}'])));
  assert.deepEqual(unpackRecord(Buffer.from(gz.toString('base64'))), ['{"eventName":"ConsoleLogin"}']);
  assert.deepEqual(unpackRecord(Buffer.from(Buffer.from('{"b":2}').toString('base64'))), ['{"b":2}']);
  assert.deepEqual(unpackRecord(Buffer.from('abcd')), ['abcd'], 'short words that happen to be base64 stay text');
  const env = JSON.parse(unpackRecord(gz, { envelope: true })[0]!) as { logGroup: string };
  assert.equal(env.logGroup, 'CloudTrail/logs');
  assert.deepEqual(unpackRecord(gzipSync(JSON.stringify({ messageType: 'CONTROL_MESSAGE', logEvents: [] }))), []);
  assert.deepEqual(unpackRecord(Buffer.from([0xff, 0xfe, 0x00])), ['base64://4A']);
});

test('tail reads every shard of a real stream: sink output, KPL, CloudWatch envelopes; --limit; --follow from latest', async (t) => {
  const emu = await startKinesalite(t);
  const stream = randomName('tail');
  await emu.createStream(stream, 3);

  const config = kinesisSinkDefinition.schema.parse({
    streamName: stream,
    region: 'us-east-1',
    endpoint: emu.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    aggregation: true,
  });
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  const events = auditEvents(20);
  await sink.send(events, new AbortController().signal);
  await emu.client.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: [
        { PartitionKey: 'cwl', Data: gzipSync(JSON.stringify(envelope(['m1', 'm2']))) },
        { PartitionKey: 'plain', Data: Buffer.from('plain line\n') },
      ],
    }),
  );

  const opts: TailOptions = { stream, region: 'us-east-1', endpoint: emu.endpoint, credentials: EMULATOR_CREDENTIALS, from: 'trim_horizon', follow: false, envelope: false };
  const lines: string[] = [];
  const n = await tailStream(opts, (l) => lines.push(l));
  assert.equal(n, events.length + 3);
  assert.deepEqual(lines.sort(), [...events.map((e) => JSON.stringify(e)), 'm1', 'm2', 'plain line'].sort());

  const limited: string[] = [];
  assert.equal(await tailStream({ ...opts, limit: 5 }, (l) => limited.push(l)), 5);
  assert.equal(limited.length, 5);

  const abort = new AbortController();
  const followed: string[] = [];
  const running = tailStream({ ...opts, from: 'latest', follow: true }, (l) => followed.push(l), abort.signal);
  // The tail has its LATEST iterators once it is polling; records put after that must show up.
  await waitFor(async () => {
    await emu.client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: randomName('p'), Data: Buffer.from('fresh\n') }));
    return followed.includes('fresh');
  }, 'the followed tail to print a new record', 20_000, 500);
  abort.abort();
  await running;
  assert.ok(!followed.some((l) => l === 'plain line'), 'from latest skips older records');
});

test('registerTailCommand adds `tail` with its options', () => {
  const program = new Command('auditstream');
  registerTailCommand(program);
  const tail = program.commands.find((c) => c.name() === 'tail');
  assert.ok(tail);
  assert.deepEqual(
    tail.options.map((o) => o.long),
    ['--stream', '--region', '--endpoint', '--role-arn', '--external-id', '--from', '--limit', '--follow', '--envelope'],
  );
});
