import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readRecord } from '../../src/formats/read-record.js';
import { fixture, record } from './fixtures.js';

test('decode auto: a gzip\'d NDJSON object (Foxpass S3 archive) is unzipped and read line by line', () => {
  const text = `${record('foxpass-ldap-bind.json')}\n${record('foxpass-ldap-bind-unknown-user.json')}\n${record('foxpass-radius-authorize.json')}\n`;
  const { events, errors } = readRecord(gzipSync(text), { decode: 'auto', parse: 'auto', idHint: 'foxpass/2024/05/01/10/obj-1' });
  assert.deepEqual(errors, []);
  assert.deepEqual(events.map((e) => [e.type, e.outcome, e.id]), [
    ['ldap.bind', 'success', 'foxpass/2024/05/01/10/obj-1:1'],
    ['ldap.bind', 'failure', 'foxpass/2024/05/01/10/obj-1:2'],
    ['radius.authorize', 'success', 'foxpass/2024/05/01/10/obj-1:3'],
  ]);
});

test('decode auto: text that is not JSON is read as lines (VPC flow records, a Blitz logback file)', () => {
  const vpc = readRecord(Buffer.from(fixture('vpc-flow.log')), { decode: 'auto', parse: 'auto' });
  assert.deepEqual(vpc.errors, []);
  assert.deepEqual(vpc.events.map((e) => e.type), ['vpc.flow', 'vpc.flow', 'vpc.nodata', 'vpc.skipdata']);

  const logback = readRecord(Buffer.from(`${fixture('blitz-logback.log')}${fixture('blitz-logback.log')}`), { decode: 'auto', parse: 'blitz' });
  assert.deepEqual(logback.errors, []);
  assert.equal(logback.events.length, 2);
  assert.equal(logback.events[0]!.raw, record('blitz-logback.log'));
});

test('decode text: every line goes to the parser, JSON lines included', () => {
  const text = `${fixture('vpc-flow.log').split('\n')[0]}\n${record('foxpass-ldap-bind.json')}\n`;
  const { events } = readRecord(Buffer.from(text), { decode: 'text', parse: 'auto' });
  assert.deepEqual(events.map((e) => e.source), ['vpc-flow', 'foxpass']);
});

test('the same data read twice yields the same ids, so a replay after a crash dedupes in the store', () => {
  const data = gzipSync(fixture('vpc-flow.log'));
  const opts = { decode: 'auto', parse: 'auto', idHint: 'shardId-000000000002:49650000000000000000000000000000000000000000000000000002' } as const;
  const first = readRecord(data, opts).events.map((e) => e.id);
  assert.equal(new Set(first).size, 4);
  assert.deepEqual(readRecord(data, opts).events.map((e) => e.id), first);
});

test('a Uint8Array view (as the AWS SDK returns record data) is read without copying the wrong bytes', () => {
  const backing = Buffer.from(`xxxx${record('foxpass-ldap-bind.json')}\nyyyy`);
  const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, backing.length - 8);
  const { events, errors } = readRecord(view, { decode: 'auto', parse: 'auto' });
  assert.deepEqual(errors, []);
  assert.equal(events[0]!.raw, record('foxpass-ldap-bind.json'));
});

test('corrupt gzip: reported, or in collector mode kept as an unparsed event holding the bytes in base64', () => {
  const good = gzipSync(fixture('vpc-flow.log'));
  const corrupt = Buffer.concat([good.subarray(0, 12), Buffer.alloc(20, 0xff)]);
  const strict = readRecord(corrupt, { decode: 'auto', parse: 'auto' });
  assert.equal(strict.events.length, 0);
  assert.equal(strict.errors.length, 1);
  assert.match(strict.errors[0]!.error, /^data: corrupt gzip \(/);

  const kept = readRecord(corrupt, { decode: 'auto', parse: 'auto', keepUnparsed: true, timestampMs: 1714557600000, idHint: 'shard:seq' });
  assert.equal(kept.unparsed, 1);
  const [e] = kept.events;
  assert.equal(e!.type, 'unparsed');
  assert.equal(e!.id, 'shard:seq');
  assert.equal(e!.time, '2024-05-01T10:00:00.000Z');
  assert.deepEqual(Buffer.from(e!.raw, 'base64'), corrupt);
});

test('empty data yields nothing and no error', () => {
  assert.deepEqual(readRecord(Buffer.alloc(0), { decode: 'auto', parse: 'auto' }), { events: [], errors: [], skipped: 0, unparsed: 0 });
  assert.deepEqual(readRecord(Buffer.from('\n\n'), { decode: 'ndjson', parse: 'auto' }), { events: [], errors: [], skipped: 0, unparsed: 0 });
});

test('a pretty-printed JSON array of events (an exported batch) yields one event per element', () => {
  const records = [JSON.parse(record('foxpass-ldap-bind.json')), JSON.parse(fixture('temporal-delete-user.json'))];
  const { events, errors } = readRecord(gzipSync(JSON.stringify(records, null, 2)), { decode: 'auto', parse: 'auto', idHint: 's3://b/export.json#etag' });
  assert.deepEqual(errors, []);
  assert.deepEqual(events.map((e) => [e.type, e.id]), [
    ['ldap.bind', 's3://b/export.json#etag:0'],
    ['temporal.DeleteUser', '0mc69c0323b871293ce231dd1c7fb639'],
  ]);
});

test('the time window reaches the collector path: out of it a record is kept as unparsed, saying why', () => {
  const eventTime = { notBeforeMs: Date.parse('2024-01-01T00:00:00Z'), maxAheadSec: 86_400 };
  const data = Buffer.from(`${JSON.stringify({ type: 'x', time: '2023-12-31T23:59:59Z', id: 'old' })}\n${JSON.stringify({ type: 'x', time: '2024-06-01T00:00:00Z', id: 'ok' })}\n`);
  const strict = readRecord(data, { decode: 'auto', parse: 'auto', eventTime });
  assert.deepEqual(strict.events.map((e) => e.id), ['ok']);
  assert.deepEqual(strict.errors, [{ index: 0, error: 'line 1: time: 2023-12-31T23:59:59.000Z is before 2024-01-01T00:00:00.000Z (audit.eventTime.notBefore)' }]);
  const kept = readRecord(data, { decode: 'auto', parse: 'auto', eventTime, keepUnparsed: true, idHint: 'obj', timestampMs: Date.parse('2024-06-02T00:00:00Z') });
  assert.deepEqual(kept.events.map((e) => [e.type, e.time]), [['unparsed', '2024-06-02T00:00:00.000Z'], ['x', '2024-06-01T00:00:00.000Z']]);
  assert.match(String(kept.events[0]!.details.unparsedReason), /notBefore/);
});

test('a CloudWatch log event timestamp out of the window does not become the time of an unparsed event', () => {
  const envelope = { messageType: 'DATA_MESSAGE', logGroup: 'g', logStream: 's', owner: '1', logEvents: [{ id: 'e1', timestamp: 8.64e15, message: 'free text' }] };
  const before = Date.now();
  const out = readRecord(Buffer.from(JSON.stringify(envelope)), { decode: 'auto', parse: 'auto', keepUnparsed: true });
  assert.equal(out.events.length, 1);
  const e = out.events[0]!;
  assert.equal(e.type, 'cloudwatch.log');
  assert.ok(Date.parse(e.time) >= before && Date.parse(e.time) <= Date.now(), `read time stands in, got ${e.time}`);
  assert.equal(e.details.transportTimestampMs, 8.64e15, 'the transport time is kept');
});

test('a gzip bomb: data that inflates past maxDecodedBytes is refused by its size (kept as base64 in collector mode), never inflated whole', () => {
  const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024)); // 8 MiB of zeros, about 8 KiB compressed
  const strict = readRecord(bomb, { decode: 'auto', parse: 'auto', maxDecodedBytes: 1024 * 1024 });
  assert.equal(strict.events.length, 0);
  assert.match(strict.errors[0]!.error, /^data: inflates to more than 1048576 bytes/);

  const kept = readRecord(bomb, { decode: 'auto', parse: 'auto', keepUnparsed: true, maxDecodedBytes: 1024 * 1024, timestampMs: 1714557600000, idHint: 'shard:seq' });
  assert.equal(kept.unparsed, 1);
  assert.deepEqual(Buffer.from(kept.events[0]!.raw, 'base64'), bomb);

  const within = readRecord(gzipSync(`${record('foxpass-ldap-bind.json')}\n`), { decode: 'auto', parse: 'auto', maxDecodedBytes: 1024 * 1024 });
  assert.deepEqual(within.errors, [], 'data under the bound reads as before');
  assert.equal(within.events.length, 1);
});

/** A login event whose `extra` field makes it `depth` levels deep. */
const nested = (id: string, depth: number) => `{"id":"${id}","type":"login","time":"2024-05-01T10:00:00Z","extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
const tooDeep = (depth: number, max = 64) => `nested ${depth} levels deep, over server.limits.maxDepth (${max})`;

test('maxDepth: a record nested deeper is rejected by its depth, unparsed, in every decode mode; its neighbours are read', () => {
  const good = nested('good', 64);
  const lines = `${good}\n${nested('deep', 65)}\n${nested('overflowing', 100_000)}\n`;
  for (const decode of ['auto', 'ndjson', 'text'] as const) {
    const { events, errors } = readRecord(Buffer.from(lines), { decode, parse: 'auto' });
    assert.deepEqual(events.map((e) => e.id), ['good'], decode);
    assert.deepEqual(errors, [
      { index: 1, error: `line 2: ${tooDeep(65)}` },
      { index: 2, error: `line 3: ${tooDeep(100_000)}` },
    ], decode);
  }
  const exported = readRecord(Buffer.from(`2024-05-01T10:00:00.000Z ${good}\n2024-05-01T10:00:01.000Z ${nested('deep', 65)}\n`), { decode: 'cloudwatch-logs-export', parse: 'auto' });
  assert.deepEqual([exported.events.map((e) => e.id), exported.errors], [['good'], [{ index: 1, error: `line 2: ${tooDeep(65)}` }]]);
});

test('maxDepth: CloudWatch Logs messages are measured one by one, and the envelope as a whole', () => {
  const envelope = (extra: string) =>
    `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[` +
    `{"id":"a","timestamp":1714557600000,"message":${JSON.stringify(nested('good', 3))}},{"id":"b","timestamp":1714557600000,"message":${JSON.stringify(nested('deep', 5000))}}]${extra}}`;
  for (const decode of ['auto', 'cloudwatch-logs'] as const) {
    const { events, errors } = readRecord(gzipSync(envelope('')), { decode, parse: 'auto' });
    assert.deepEqual([events.map((e) => e.id), errors], [['good'], [{ index: 1, error: `logEvents[1]: ${tooDeep(5000)}` }]], decode);
  }
  const deepEnvelope = envelope(`,"extra":${'['.repeat(100)}${']'.repeat(100)}`);
  assert.deepEqual(readRecord(Buffer.from(deepEnvelope), { decode: 'cloudwatch-logs', parse: 'auto' }).errors, [{ index: 0, error: `CloudWatch Logs data: ${tooDeep(101)}` }]);
  assert.deepEqual(readRecord(Buffer.from(deepEnvelope), { decode: 'auto', parse: 'auto' }).errors, [{ index: 0, error: `line 1: ${tooDeep(101)}` }]);
});

test('maxDepth: the limit given is the one held to; in collector mode a deeper record is kept whole as unparsed, saying why', () => {
  const data = Buffer.from(`${nested('good', 5)}\n${nested('deep', 6)}\n`);
  const { events, unparsed } = readRecord(data, { decode: 'auto', parse: 'auto', maxDepth: 5, keepUnparsed: true, idHint: 'h' });
  assert.equal(unparsed, 1);
  assert.deepEqual(events.map((e) => [e.type, e.details.unparsedReason ?? null, e.raw]), [
    ['login', null, nested('good', 5)],
    ['unparsed', `line 2: ${tooDeep(6, 5)}`, nested('deep', 6)],
  ]);
});

test('maxDepth: one pretty-printed document too deep is refused as one; brackets inside strings and escaped quotes do not count', () => {
  const pretty = `{\n  "id": "pretty",\n  "extra": ${'['.repeat(70)}${']'.repeat(70)}\n}\n`;
  assert.deepEqual(readRecord(Buffer.from(pretty), { decode: 'ndjson', parse: 'auto' }).errors, [{ index: 0, error: `line 1: ${tooDeep(71)}` }]);
  const inString = JSON.stringify({ id: 's', type: 'login', time: '2024-05-01T10:00:00Z', note: `\\"${'['.repeat(500)}` });
  assert.deepEqual(readRecord(Buffer.from(inString), { decode: 'auto', parse: 'auto' }).events.map((e) => e.id), ['s']);
});
