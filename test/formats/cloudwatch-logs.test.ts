import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { decodeCloudWatchExport } from '../../src/formats/containers/cloudwatch-logs.js';
import { readRecord } from '../../src/formats/read-record.js';
import { fixture, record } from './fixtures.js';

/** A Kinesis record's data as a CloudWatch Logs subscription writes it: gzip of the JSON envelope. */
function cwlData(envelope: object): Buffer {
  return gzipSync(JSON.stringify(envelope));
}

const vpcLines = fixture('vpc-flow.log').trimEnd().split('\n');
const vpcEnvelope = {
  messageType: 'DATA_MESSAGE',
  owner: '311111777194',
  logGroup: 'VpcFlowLogsGroup',
  logStream: 'eni-054c755e644dcf32d-all',
  subscriptionFilters: ['VpcFlowLogsStream'],
  logEvents: vpcLines.map((message, i) => ({
    id: `3195310660696698337880902507980421114328961542429822156${i}`,
    timestamp: 1619538110000 + i,
    message,
  })),
};
const controlEnvelope = {
  messageType: 'CONTROL_MESSAGE',
  owner: 'CloudwatchLogs',
  logGroup: '',
  logStream: '',
  subscriptionFilters: [],
  logEvents: [{ id: '', timestamp: 1432826855000, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }],
};

test('CloudWatch Logs DATA_MESSAGE of VPC flow logs: one event per log event, CloudWatch id and origin', () => {
  const { events, errors, skipped } = readRecord(cwlData(vpcEnvelope), { decode: 'auto', parse: 'auto', origin: { stream: 'VpcFlowLogsStream', shardId: 'shardId-000000000000' }, idHint: 'ignored' });
  assert.deepEqual(errors, []);
  assert.equal(skipped, 0);
  assert.deepEqual(events.map((e) => e.type), ['vpc.flow', 'vpc.flow', 'vpc.nodata', 'vpc.skipdata']);
  assert.deepEqual(events.map((e) => e.outcome), ['failure', 'success', 'unknown', 'unknown']);
  const [first] = events;
  assert.equal(first!.id, '31953106606966983378809025079804211143289615424298221560');
  assert.equal(first!.raw, vpcLines[0]);
  // The flow record's own start time, not the log event's.
  assert.equal(first!.time, '2021-04-27T15:40:50.000Z');
  assert.deepEqual(first!.origin, {
    stream: 'VpcFlowLogsStream',
    shardId: 'shardId-000000000000',
    logGroup: 'VpcFlowLogsGroup',
    logStream: 'eni-054c755e644dcf32d-all',
    owner: '311111777194',
  });
});

test('CloudTrail through CloudWatch Logs (the SIEM path): the CloudTrail event keeps its eventID', () => {
  const envelope = {
    ...vpcEnvelope,
    logGroup: 'cloudwatch-group',
    logStream: '11111111111_CloudTrail_us-west-1',
    subscriptionFilters: ['fortisiem'],
    logEvents: [{ id: '36000000000000000000000000000000000000000000000000000001', timestamp: 1619644387000, message: record('cloudtrail-describe-event-aggregates.json') }],
  };
  const { events } = readRecord(cwlData(envelope), { decode: 'cloudwatch-logs', parse: 'auto' });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.id, 'eb8c077f-321d-471a-b207-849f5089a428');
  assert.equal(events[0]!.type, 'cloudtrail.DescribeEventAggregates');
  assert.equal(events[0]!.origin!.logGroup, 'cloudwatch-group');
});

test('CONTROL_MESSAGE envelopes are skipped and counted, never turned into events', () => {
  for (const decode of ['auto', 'cloudwatch-logs'] as const) {
    const r = readRecord(cwlData(controlEnvelope), { decode, parse: 'auto', keepUnparsed: true });
    assert.deepEqual(r, { events: [], errors: [], skipped: 1, unparsed: 0 });
  }
});

test('a log event no parser reads: an error naming the log event, or in collector mode a cloudwatch.log event with the log event time and id', () => {
  const envelope = {
    ...vpcEnvelope,
    logGroup: '/aws/lambda/checkout',
    logStream: '2024/05/01/[$LATEST]abc',
    logEvents: [
      vpcEnvelope.logEvents[0],
      { id: '37000000000000000000000000000000000000000000000000000002', timestamp: 1714557600123, message: 'START RequestId: 8f5e Version: $LATEST' },
    ],
  };
  const strict = readRecord(cwlData(envelope), { decode: 'auto', parse: 'auto' });
  assert.equal(strict.events.length, 1);
  assert.deepEqual(strict.errors, [{ index: 1, error: 'logEvents[1]: record: neither JSON nor a known text format (VPC flow log line, Blitz logback line)' }]);

  const collector = readRecord(cwlData(envelope), { decode: 'auto', parse: 'auto', keepUnparsed: true });
  assert.deepEqual(collector.errors, []);
  assert.equal(collector.unparsed, 1);
  assert.deepEqual(collector.events[1], {
    id: '37000000000000000000000000000000000000000000000000000002',
    time: '2024-05-01T10:00:00.123Z',
    type: 'cloudwatch.log',
    source: 'cloudwatch-logs',
    outcome: 'unknown',
    details: { unparsedReason: 'logEvents[1]: record: neither JSON nor a known text format (VPC flow log line, Blitz logback line)' },
    origin: { logGroup: '/aws/lambda/checkout', logStream: '2024/05/01/[$LATEST]abc', owner: '311111777194' },
    raw: 'START RequestId: 8f5e Version: $LATEST',
  });
});

test('a malformed envelope is reported naming the field; in collector mode it is kept whole', () => {
  const { logEvents: _omit, ...noEvents } = vpcEnvelope;
  const strict = readRecord(cwlData(noEvents), { decode: 'cloudwatch-logs', parse: 'auto' });
  assert.deepEqual(strict.errors, [{ index: 0, error: 'CloudWatch Logs data: logEvents: expected an array, got nothing' }]);
  const collector = readRecord(cwlData(noEvents), { decode: 'cloudwatch-logs', parse: 'auto', keepUnparsed: true, idHint: 'shard:seq' });
  assert.equal(collector.events.length, 1);
  assert.equal(collector.events[0]!.type, 'cloudwatch.log');
  assert.equal(collector.events[0]!.id, 'shard:seq');
  assert.deepEqual(JSON.parse(collector.events[0]!.raw), noEvents);

  const badEvent = { ...vpcEnvelope, logEvents: [{ id: '1', timestamp: '2024-05-01', message: 'x' }] };
  assert.deepEqual(readRecord(cwlData(badEvent), { decode: 'cloudwatch-logs', parse: 'auto' }).errors, [
    { index: 0, error: 'CloudWatch Logs data: logEvents[0].timestamp: expected epoch milliseconds, got "2024-05-01"' },
  ]);
});

test('CloudWatch Logs export file (S3 export): timestamp prefix stripped, multi-line messages joined', () => {
  const text = [
    `2021-04-27T15:41:00.000Z ${vpcLines[0]}`,
    `2021-04-27T16:15:00.000Z ${vpcLines[1]}`,
    '2024-05-01T10:00:00.123Z Traceback (most recent call last):',
    '  File "app.py", line 1',
    '',
  ].join('\n');
  assert.deepEqual(decodeCloudWatchExport(text), [
    { line: 1, text: vpcLines[0], timestampMs: Date.parse('2021-04-27T15:41:00.000Z') },
    { line: 2, text: vpcLines[1], timestampMs: Date.parse('2021-04-27T16:15:00.000Z') },
    { line: 3, text: 'Traceback (most recent call last):\n  File "app.py", line 1', timestampMs: Date.parse('2024-05-01T10:00:00.123Z') },
  ]);
  const { events, unparsed } = readRecord(gzipSync(text), { decode: 'cloudwatch-logs-export', parse: 'auto', keepUnparsed: true, idHint: 'exports/VpcFlowLogsGroup/000000.gz' });
  assert.deepEqual(events.map((e) => [e.type, e.id]), [
    ['vpc.flow', 'exports/VpcFlowLogsGroup/000000.gz:1'],
    ['vpc.flow', 'exports/VpcFlowLogsGroup/000000.gz:2'],
    ['cloudwatch.log', 'exports/VpcFlowLogsGroup/000000.gz:3'],
  ]);
  assert.equal(unparsed, 1);
  assert.equal(events[2]!.time, '2024-05-01T10:00:00.123Z');
});
