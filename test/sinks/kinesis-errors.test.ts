import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { ConfigError, FatalError, RetriableError } from '../../src/core/errors.js';
import { parseConfig } from '../../src/config/validate.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { freePort } from '../support/free-port.js';
import { randomName } from '../support/temp.js';
import { EMULATOR_CREDENTIALS, auditEvents, readAllRecords, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';

function sinkAt(t: TestContext, endpoint: string, stream: string, extra: Record<string, unknown> = {}) {
  const config = parseConfig(
    kinesisSinkDefinition.schema,
    { streamName: stream, region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS, ...extra },
    'emitters[0]',
  );
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  return sink;
}

const signal = new AbortController().signal;

for (const aggregation of [false, true]) {
  test(`an event over 1 MiB is rejected with its size and the limit; the rest are delivered (aggregation ${aggregation})`, async (t) => {
    const emu = await startKinesalite(t);
    const stream = randomName('big');
    await emu.createStream(stream, 2);
    const sink = sinkAt(t, emu.endpoint, stream, { aggregation });
    const events = auditEvents(5);
    events[2]!.details = { blob: 'x'.repeat(1024 * 1024) };
    const outcomes = await sink.send(events, signal);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['delivered', 'delivered', 'rejected', 'delivered', 'delivered'],
    );
    const rejected = outcomes[2]!;
    assert.ok(rejected.status === 'rejected');
    assert.match(rejected.reason, /event is \d+ bytes .*over the Kinesis record limit of 1 MiB \(1048576 bytes\)/);
    const read = await readAllRecords(emu.client, stream);
    assert.ok(read.every((r) => r.data.length < 1024 * 1024));
  });
}

test('a stream that does not exist: send throws FatalError naming it, check() says it is not found in the region', async (t) => {
  const emu = await startKinesalite(t);
  const sink = sinkAt(t, emu.endpoint, 'no-such-stream');
  await assert.rejects(sink.send(auditEvents(3), signal), (err: unknown) => {
    assert.ok(err instanceof FatalError, String(err));
    assert.equal(err.code, 'ResourceNotFoundException');
    assert.match(err.message, /no-such-stream/);
    return true;
  });
  const steps = await sink.check(signal);
  const failed = steps.find((s) => !s.ok);
  assert.ok(failed, JSON.stringify(steps));
  assert.equal(failed.step, 'describe stream no-such-stream in us-east-1');
  assert.match(failed.detail, /stream no-such-stream not found in region us-east-1/);
});

test('check() on a good stream: every step passes, and it says the write itself is not tested', async (t) => {
  const emu = await startKinesalite(t);
  const stream = randomName('ok');
  await emu.createStream(stream, 1);
  const sink = sinkAt(t, emu.endpoint, stream);
  const steps = await sink.check(signal);
  assert.deepEqual(
    steps.map((s) => [s.step, s.ok]),
    [
      [`describe stream ${stream} in us-east-1`, true],
      [`stream ${stream} is ACTIVE`, true],
      ['write permission (kinesis:PutRecord, kinesis:PutRecords)', true],
    ],
  );
  assert.match(steps[2]!.detail, /not tested/);
  assert.equal((await readAllRecords(emu.client, stream)).length, 0, 'check() wrote nothing');
});

test('nothing listening at the endpoint: send throws RetriableError', async (t) => {
  const port = await freePort();
  const sink = sinkAt(t, `http://127.0.0.1:${port}`, 'audit');
  await assert.rejects(sink.send(auditEvents(2), signal), (err: unknown) => err instanceof RetriableError);
});

test('config errors name the key', () => {
  const parse = (v: Record<string, unknown>) => parseConfig(kinesisSinkDefinition.schema, v, 'emitters[1]');
  assert.throws(() => parse({ region: 'us-east-1' }), (e: unknown) => e instanceof ConfigError && e.path === 'emitters[1].streamName');
  assert.throws(() => parse({ streamName: 'a' }), (e: unknown) => e instanceof ConfigError && e.path === 'emitters[1].region');
  assert.throws(
    () => parse({ streamName: 'a', region: 'us-east-1', partitionKey: 'usr' }),
    (e: unknown) => e instanceof ConfigError && e.path === 'emitters[1].partitionKey',
  );
  assert.throws(
    () => parse({ streamName: 'a', region: 'us-east-1', maxRecordsPerRequest: 501 }),
    (e: unknown) => e instanceof ConfigError && e.path === 'emitters[1].maxRecordsPerRequest',
  );
  assert.throws(
    () => parse({ streamName: 'a', region: 'us-east-1', rateLimit: { recordsPerSecPerShard: 2000 } }),
    (e: unknown) => e instanceof ConfigError && e.path === 'emitters[1].rateLimit.recordsPerSecPerShard',
  );
  assert.throws(() => parse({ streamName: 'a', region: 'us-east-1', shards: 2 }), (e: unknown) => e instanceof ConfigError && e.path === 'emitters[1].shards');
  const arn = parse({ streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/audit', partitionKey: 'details.tenant_id' });
  assert.equal(arn.partitionKey, 'details.tenant_id');
  assert.equal(arn.rateLimit.recordsPerSecPerShard, 1000);
  assert.throws(
    () => parse({ streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/audit', region: 'us-east-1' }),
    (e: unknown) => e instanceof ConfigError && e.path === 'emitters[1].region' && /eu-west-1/.test(e.problem),
  );
});
