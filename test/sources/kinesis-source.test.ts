import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, PutRecordCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Registry } from 'prom-client';
import agg from 'aws-kinesis-agg';
import { ComponentMetrics } from '../../src/core/component-metrics.js';
import type { AuditEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/logger.js';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds } from '../../src/core/time.js';
import { parseConfig } from '../../src/config/validate.js';
import type { Publisher, PublishResult } from '../../src/sources/source.js';
import { kinesisSourceDefinition, type KinesisSource } from '../../src/sources/kinesis/source.js';
import { SqliteLeaseTable } from '../../src/sources/kinesis/lease-table-sqlite.js';
import { leasesToCreate } from '../../src/sources/kinesis/shard-sync.js';
import { SqliteAuditStore } from '../../src/store/sqlite-store.js';
import type { Lease } from '../../src/sources/kinesis/lease-table.js';
import { EMULATOR_CREDENTIALS, startKinesalite, startKinesisLocal, type KinesisEmulator } from '../support/kinesis-emulators.js';
import { randomName, tempDir, waitFor } from '../support/temp.js';
import { DEFAULT_MAX_DEPTH } from '../../src/formats/parse-helpers/depth.js';
import { aggregate } from '../../src/formats/containers/kpl.js';

/** The sum of a metric's series whose labels include `labels`. */
async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want)).reduce((n, v) => n + v.value, 0);
}

/**
 * A test double for the publisher: it keeps every publish call and answers
 * ok or not-ok on command. The real router and audit store are tested in
 * test/pipeline and test/store; here the test must control acknowledgement
 * and see each call, which the real pipeline does not expose.
 */
class RecordingPublisher implements Publisher {
  readonly received = new Map<string, AuditEvent>();
  readonly calls: AuditEvent[][] = [];
  acknowledge = true;

  async publish(events: AuditEvent[]): Promise<PublishResult> {
    this.calls.push(events);
    if (!this.acknowledge) return { ok: false, failed: [{ emitter: 'store', reason: 'test: store unavailable' }] };
    for (const e of events) this.received.set(e.id, e);
    return { ok: true, failed: [] };
  }
}

interface Setup {
  emulator: KinesisEmulator;
  stream: string;
  dataDir: string;
  metrics: Registry;
}

async function setup(t: TestContext, shards = 1): Promise<Setup> {
  const emulator = await startKinesalite(t);
  const stream = randomName('audit');
  await emulator.createStream(stream, shards);
  return { emulator, stream, dataDir: await tempDir(t), metrics: new Registry() };
}

/** A kinesis source as the config loader would build it: through the definition's schema. */
async function startSource(
  t: TestContext,
  s: Setup,
  publisher: Publisher,
  extra: Record<string, unknown> = {},
  eventTime: EventTimeBounds = DEFAULT_EVENT_TIME_BOUNDS,
): Promise<KinesisSource> {
  const config = parseConfig(
    kinesisSourceDefinition.schema,
    {
      streamName: s.stream,
      region: 'us-east-1',
      endpoint: s.emulator.endpoint,
      credentials: EMULATOR_CREDENTIALS,
      applicationName: 'collector',
      leaseDurationSec: 2,
      idlePollIntervalMs: 200,
      ...extra,
    },
    'sources[0]',
  );
  const source = kinesisSourceDefinition.create('kinesis-test', config, {
    configPath: 'sources[0]',
    dataDir: s.dataDir,
    // 'error': the emulator stops before the source in t.after, and the readers' retry warnings would only be noise.
    logger: createLogger('error'),
    metrics: s.metrics,
    component: new ComponentMetrics(s.metrics, 'source', 'kinesis-test', 'kinesis'),
    eventTime,
    maxDepth: DEFAULT_MAX_DEPTH,
  }) as KinesisSource;
  await source.start(publisher);
  let stopped = false;
  t.after(() => (stopped ? undefined : source.stop()));
  const stop = source.stop.bind(source);
  source.stop = async () => {
    stopped = true;
    await stop();
  };
  return source;
}

const event = (n: number) => JSON.stringify({ type: 'login', time: '2024-05-01T10:00:00.000Z', actor: `user-${n}`, n });

async function putLines(s: Setup, from: number, count: number): Promise<void> {
  const entries = Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(event(from + i)), PartitionKey: `pk-${from + i}` }));
  for (let i = 0; i < entries.length; i += 500) {
    const res = await s.emulator.client.send(new PutRecordsCommand({ StreamName: s.stream, Records: entries.slice(i, i + 500) }));
    assert.equal(res.FailedRecordCount ?? 0, 0);
  }
}

async function leaseRows(s: Setup) {
  const table = new SqliteLeaseTable(join(s.dataDir, 'kinesis-leases.sqlite'), 'collector');
  await table.open();
  try {
    return await table.list(`us-east-1/${s.stream}`);
  } finally {
    await table.close();
  }
}

const ns = (events: Iterable<AuditEvent>) => [...events].map((e) => e.details.n as number).sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('the checkpoint advances only past acknowledged events; a restart reads the unacknowledged ones again, with the same ids', async (t) => {
  const s = await setup(t);
  const first = new RecordingPublisher();
  const source = await startSource(t, s, first);
  await putLines(s, 0, 20);
  await waitFor(() => first.received.size === 20, '20 acknowledged events');
  const acked = await waitFor(async () => {
    const [l] = await leaseRows(s);
    return /^\d+$/.test(l!.checkpoint) ? l : undefined;
  }, 'a sequence-number checkpoint');

  // The store goes away: the same events are offered again and again, the checkpoint stays.
  first.acknowledge = false;
  const callsBefore = first.calls.length;
  await putLines(s, 20, 30);
  await waitFor(() => first.calls.length >= callsBefore + 3, 'three publish attempts of the unacknowledged batch');
  const attempts = first.calls.slice(callsBefore);
  const ids = attempts[0]!.map((e) => e.id);
  assert.deepEqual(ns(attempts[0]!), range(20, 50));
  for (const a of attempts) assert.deepEqual(a.map((e) => e.id), ids, 'a retry republishes the same events with the same ids');
  const [during] = await leaseRows(s);
  assert.equal(during!.checkpoint, acked.checkpoint);

  await source.stop();
  const [afterStop] = await leaseRows(s);
  assert.equal(afterStop!.checkpoint, acked.checkpoint, 'stop does not checkpoint unacknowledged events');
  assert.equal(afterStop!.leaseOwner, null, 'stop releases the lease');

  // Restart (another worker of the same application): exactly the unacknowledged records come again.
  const second = new RecordingPublisher();
  await startSource(t, s, second);
  await waitFor(() => second.received.size === 30, 'the 30 unacknowledged events after restart');
  assert.deepEqual(ns(second.received.values()), range(20, 50));
  assert.deepEqual([...second.received.keys()].sort(), [...ids].sort());
  await waitFor(async () => (await leaseRows(s))[0]!.checkpoint !== acked.checkpoint, 'the checkpoint to advance');
});

test('the source holds event times to audit.eventTime, as HTTP ingest does: a record out of the window is kept as unparsed, saying why', async (t) => {
  const s = await setup(t);
  const publisher = new RecordingPublisher();
  await startSource(t, s, publisher, {}, { notBeforeMs: Date.parse('2024-01-01T00:00:00Z'), maxAheadSec: 86_400 });
  const records = [
    { type: 'login', time: '2024-05-01T10:00:00Z', id: 'in-window' },
    { type: 'login', time: '2023-05-01T10:00:00Z', id: 'too-old' },
  ].map((r, i) => ({ Data: Buffer.from(JSON.stringify(r)), PartitionKey: `pk-${i}` }));
  await s.emulator.client.send(new PutRecordsCommand({ StreamName: s.stream, Records: records }));
  await waitFor(() => publisher.received.size === 2, 'two events');
  const events = [...publisher.received.values()];
  assert.deepEqual(events.map((e) => e.type), ['login', 'unparsed']);
  assert.equal(events[0]!.id, 'in-window');
  assert.equal(events[1]!.details.unparsedReason, 'line 1: time: 2023-05-01T10:00:00.000Z is before 2024-01-01T00:00:00.000Z (audit.eventTime.notBefore)');
});

/** A login event whose `extra` field makes it `depth` levels deep. */
const nested = (id: string, depth: number) => `{"type":"login","time":"2024-05-01T10:00:00Z","id":"${id}","extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

test('server.limits.maxDepth holds on Kinesis records, KPL user records and CloudWatch Logs messages: a deeper one is kept as unparsed naming depth, its neighbours delivered', async (t) => {
  const s = await setup(t);
  const put = (data: Buffer, key = 'k') => s.emulator.client.send(new PutRecordCommand({ StreamName: s.stream, PartitionKey: key, Data: data }));
  await put(Buffer.from(nested('good', 64)));
  await put(Buffer.from(nested('deep', 65)));
  // Deep enough to overflow the stack of JSON.stringify, were it parsed.
  await put(Buffer.from(nested('overflowing', 100_000)));
  const aggregated = await new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    agg.aggregate(
      [nested('kpl-good', 3), nested('kpl-deep', 70)].map((data, i) => ({ partitionKey: `user-${i}`, data: Buffer.from(data) })),
      (encoded, done) => {
        parts.push(encoded.data);
        done();
      },
      () => resolve(parts[0]!),
      reject,
    );
  });
  await put(aggregated);
  const logEvents = [nested('cwl-good', 2), nested('cwl-deep', 5000)].map((message, i) => ({ id: `cwl-${i}`, timestamp: 1714557600000 + i, message }));
  await put(gzipSync(Buffer.from(JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: 'idp-audit', logStream: 'node-1', subscriptionFilters: [], logEvents }))));

  const publisher = new RecordingPublisher();
  await startSource(t, s, publisher);
  await waitFor(() => publisher.received.size === 7, 'seven events');
  const events = [...publisher.received.values()];
  assert.deepEqual(events.filter((e) => e.type === 'login').map((e) => e.id).sort(), ['cwl-good', 'good', 'kpl-good']);
  const reasons = events.filter((e) => e.type !== 'login').map((e) => [e.type, e.details.unparsedReason]);
  assert.deepEqual(reasons.sort(), [
    ['cloudwatch.log', 'logEvents[1]: nested 5000 levels deep, over server.limits.maxDepth (64)'],
    ['unparsed', 'line 1: nested 100000 levels deep, over server.limits.maxDepth (64)'],
    ['unparsed', 'line 1: nested 65 levels deep, over server.limits.maxDepth (64)'],
    ['unparsed', 'line 1: nested 70 levels deep, over server.limits.maxDepth (64)'],
  ]);
  // Kept whole, as text: nothing acknowledged is lost, and nothing recursive meets the nesting.
  assert.ok(events.some((e) => e.raw === nested('overflowing', 100_000)));
  assert.equal(await metricValue(s.metrics, 'auditstream_component_errors_total', { error_type: 'parse_failed' }), 4);
});

test('a KPL aggregated record whose partition key is longer than Kinesis allows is skipped and counted, not copied onto each of its user records', async (t) => {
  const s = await setup(t);
  const put = (data: Buffer) => s.emulator.client.send(new PutRecordCommand({ StreamName: s.stream, PartitionKey: 'k', Data: data }));
  // One key of the table, named by all 200 user records: each event's origin would carry its 100 KB (20 MB for 200 KB put).
  await put(aggregate(Array.from({ length: 200 }, (_, i) => ({ partitionKey: 'p'.repeat(100_000), data: Buffer.from(event(i)) }))));
  await put(aggregate([0, 1].map((i) => ({ partitionKey: 'p'.repeat(256), data: Buffer.from(event(1000 + i)) }))));
  const publisher = new RecordingPublisher();
  await startSource(t, s, publisher);
  await waitFor(async () => (await metricValue(s.metrics, 'auditstream_component_errors_total', { error_type: 'decode_failed' })) === 1, 'the damaged record counted');
  await waitFor(() => publisher.received.size === 2, 'the next record delivered');
  assert.deepEqual(ns(publisher.received.values()), [1000, 1001], 'a key of 256 characters is Kinesis\'s own bound, and read as before');
  assert.ok([...publisher.received.values()].every((e) => e.origin?.partitionKey === 'p'.repeat(256)));
});

test('a record that would yield more than maxEventsPerRecord events is kept as one unparsed event holding its data, before they are parsed', async (t) => {
  const s = await setup(t);
  const put = (data: Buffer) => s.emulator.client.send(new PutRecordCommand({ StreamName: s.stream, PartitionKey: 'k', Data: data }));
  // 400 bytes of gzip; read, every `0` was an unparsed event (600,000 held the event loop 23 s and took 870 MB).
  const zeros = gzipSync(`{"Records":[${Array(150_000).fill('0').join(',')}]}`);
  await put(zeros);
  await put(gzipSync('{}\n'.repeat(3)));
  await put(Buffer.from(event(1)));
  const publisher = new RecordingPublisher();
  await startSource(t, s, publisher, { maxEventsPerRecord: 3 });
  await waitFor(() => publisher.received.size === 5, 'five events');
  const events = [...publisher.received.values()];
  const kept = events.filter((e) => typeof e.details.unparsedReason === 'string' && /maxEventsPerRecord/.test(e.details.unparsedReason as string));
  assert.deepEqual(kept.map((e) => e.details.unparsedReason), ['data: yields more than 3 events, over maxEventsPerRecord; raw holds the data base64-encoded']);
  assert.equal(kept[0]!.raw, zeros.toString('base64'), 'the record is kept whole');
  assert.equal(events.filter((e) => e.raw === '{}').length, 3, 'three events are within the bound');
  assert.deepEqual(ns(events.filter((e) => e.type === 'login')), [1]);
});

test('vpcFlowFormat reaches the shard readers: custom-format flow log lines become vpc.flow events', async (t) => {
  const s = await setup(t);
  const publisher = new RecordingPublisher();
  await startSource(t, s, publisher, { vpcFlowFormat: '${version} ${account-id} ${srcaddr} ${dstaddr} ${protocol} ${start} ${action} ${log-status} ${flow-direction}' });
  const line = '5 123456789012 10.0.1.5 198.51.100.40 6 1714557600 ACCEPT OK egress';
  await s.emulator.client.send(new PutRecordsCommand({ StreamName: s.stream, Records: [{ Data: Buffer.from(line), PartitionKey: 'pk' }] }));
  await waitFor(() => publisher.received.size === 1, 'one event');
  const [e] = [...publisher.received.values()];
  assert.deepEqual([e!.type, e!.outcome, e!.details['flow-direction']], ['vpc.flow', 'success', 'egress']);
});

test('stop is bounded: a publish that never answers is abandoned after stopDrainSec, unacknowledged, and read again later', async (t) => {
  const s = await setup(t);
  await putLines(s, 0, 10);
  const first = new RecordingPublisher();
  let hung = 0;
  first.publish = async () => {
    hung++;
    return new Promise<PublishResult>(() => {});
  };
  const source = await startSource(t, s, first, { stopDrainSec: 0.5 });
  await waitFor(() => hung === 1, 'the publish to hang');
  await source.stop();
  const [lease] = await leaseRows(s);
  assert.equal(lease!.checkpoint, 'TRIM_HORIZON');
  assert.equal(lease!.leaseOwner, null);

  const second = new RecordingPublisher();
  await startSource(t, s, second);
  await waitFor(() => second.received.size === 10, 'the ten records read again');
});

test('KPL aggregated records and gzip’d CloudWatch Logs envelopes become the right events; CONTROL messages are counted, not stored', async (t) => {
  const s = await setup(t);
  const put = (data: Buffer, key = 'k') => s.emulator.client.send(new PutRecordCommand({ StreamName: s.stream, PartitionKey: key, Data: data }));

  // An aggregated record built by the reference implementation (aws-kinesis-agg), not by our own encoder.
  const aggregated = await new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    agg.aggregate(
      [0, 1, 2].map((i) => ({ partitionKey: `user-${i}`, data: Buffer.from(event(100 + i)) })),
      (encoded, done) => {
        parts.push(encoded.data);
        done();
      },
      () => (parts.length === 1 ? resolve(parts[0]!) : reject(new Error(`expected one aggregated record, got ${parts.length}`))),
      reject,
    );
  });
  await put(aggregated);
  await put(Buffer.from(`${event(200)}\n${event(201)}\n`));
  const cwl = (body: object) => gzipSync(Buffer.from(JSON.stringify(body)));
  await put(
    cwl({
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
      subscriptionFilters: [],
      logEvents: [{ id: '', timestamp: 1714557600000, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }],
    }),
  );
  await put(
    cwl({
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: 'idp-audit',
      logStream: 'node-1',
      subscriptionFilters: ['to-kinesis'],
      logEvents: [
        { id: '36000000000000000000000000000000000000000000000000000001', timestamp: 1714557600000, message: event(300) },
        { id: '36000000000000000000000000000000000000000000000000000002', timestamp: 1714557600001, message: event(301) },
      ],
    }),
  );

  const publisher = new RecordingPublisher();
  await startSource(t, s, publisher);
  await waitFor(() => publisher.received.size === 7, 'seven events');
  const events = [...publisher.received.values()];
  assert.deepEqual(ns(events), [100, 101, 102, 200, 201, 300, 301]);
  const kpl = events.filter((e) => (e.details.n as number) < 200).sort((a, b) => (a.details.n as number) - (b.details.n as number));
  assert.deepEqual(kpl.map((e) => e.origin?.subSequenceNumber), ['0', '1', '2']);
  assert.deepEqual(kpl.map((e) => e.origin?.partitionKey), ['user-0', 'user-1', 'user-2']);
  assert.ok(events.every((e) => e.type === 'login' && e.origin?.stream === s.stream && e.origin?.shardId === 'shardId-000000000000'));
  const fromCwl = events.filter((e) => (e.details.n as number) >= 300);
  assert.deepEqual(fromCwl.map((e) => e.origin?.logGroup), ['idp-audit', 'idp-audit']);

  const metric = (name: string, labels: Record<string, string> = {}) => metricValue(s.metrics, name, labels);
  await waitFor(async () => (await metric('auditstream_source_records_read_total')) === 4, 'four records counted');
  const source = { component_kind: 'source', component_id: 'kinesis-test', component_type: 'kinesis' };
  assert.equal(await metric('auditstream_component_received_events_total', source), 7);
  assert.ok((await metric('auditstream_component_received_event_bytes_total', source)) > 7 * 50, 'the events\' JSON size');
  assert.ok((await metric('auditstream_component_received_bytes_total', { ...source, protocol: 'kinesis' })) > 0, 'the records\' bytes');
  assert.equal(await metric('auditstream_component_sent_events_total', source), 7);
  assert.equal(await metric('auditstream_source_control_messages_total', { component_id: 'kinesis-test' }), 1);
  assert.equal(await metric('auditstream_component_errors_total', { error_type: 'parse_failed' }), 0);
  const lag = await s.metrics.getSingleMetric('auditstream_source_millis_behind_latest')!.get();
  assert.deepEqual(lag.values.map((v) => v.labels), [{ component_id: 'kinesis-test', shard: 'shardId-000000000000' }]);
});

test('a restart inside a KPL aggregated record resumes after the last acknowledged user record (subsequence checkpoint)', async (t) => {
  const s = await setup(t);
  const aggregated = await new Promise<Buffer>((resolve, reject) => {
    agg.aggregate(
      range(0, 6).map((i) => ({ partitionKey: `user-${i}`, data: Buffer.from(event(i)) })),
      (encoded, done) => {
        resolve(encoded.data);
        done();
      },
      () => {},
      reject,
    );
  });
  await s.emulator.client.send(new PutRecordCommand({ StreamName: s.stream, PartitionKey: 'k', Data: aggregated }));

  // One event per publish: acknowledge the first two user records, then refuse.
  const first = new RecordingPublisher();
  const publish = first.publish.bind(first);
  first.publish = async (events) => {
    if (first.received.size >= 2) first.acknowledge = false;
    return publish(events);
  };
  const source = await startSource(t, s, first, { maxEventsPerPublish: 1 });
  await waitFor(() => !first.acknowledge && first.calls.length >= 4, 'the third user record to be refused twice');
  await source.stop();
  const [lease] = await leaseRows(s);
  assert.equal(lease!.checkpointSubSequenceNumber, 1);
  assert.deepEqual(ns(first.received.values()), [0, 1]);

  const second = new RecordingPublisher();
  await startSource(t, s, second, { maxEventsPerPublish: 1 });
  await waitFor(() => second.received.size === 4, 'the remaining four user records');
  assert.deepEqual(ns(second.received.values()), [2, 3, 4, 5]);
  assert.deepEqual(ns(second.calls.flat()), [2, 3, 4, 5], 'no acknowledged user record is published again');
});

/**
 * An HTTP proxy in front of kinesalite that answers chosen GetRecords calls
 * with Kinesis errors. Neither emulator throttles or expires iterators on
 * demand, so this is the only way to make them happen; everything else is
 * forwarded to the real emulator.
 */
async function faultyProxy(t: TestContext, target: string, fault: (getRecordsCall: number) => string | undefined) {
  const forwardedAt: number[] = [];
  let calls = 0;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.headers['x-amz-target'] === 'Kinesis_20131202.GetRecords') {
        const error = fault(++calls);
        if (error) {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ __type: error, message: `test: ${error}` }));
          return;
        }
        forwardedAt.push(performance.now());
      }
      const up = new URL(target);
      const fwd = request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      fwd.on('error', () => res.destroy());
      fwd.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, forwardedAt, calls: () => calls };
}

test('throttling and expired iterators are ridden out without losing or repeating a record; calls stay under 5/s per shard', async (t) => {
  const s = await setup(t);
  await putLines(s, 0, 30);
  // Calls 2–4 throttled, call 6 finds its iterator expired.
  const proxy = await faultyProxy(t, s.emulator.endpoint, (n) =>
    n >= 2 && n <= 4 ? 'ProvisionedThroughputExceededException' : n === 6 ? 'ExpiredIteratorException' : undefined,
  );
  const publisher = new RecordingPublisher();
  await startSource(t, { ...s, emulator: { ...s.emulator, endpoint: proxy.endpoint } }, publisher, { maxRecordsPerCall: 5 });
  await waitFor(() => publisher.received.size === 30, 'all 30 events');
  await waitFor(() => proxy.calls() > 8, 'reading to continue past the faults');
  assert.deepEqual(ns(publisher.calls.flat()), range(0, 30), 'each record published once');
  const throttled = await metricValue(s.metrics, 'auditstream_component_errors_total', { component_id: 'kinesis-test', error_type: 'throttled', stage: 'receiving' });
  assert.equal(throttled, 3, 'each throttled call counted');
  // One reader per shard, at least pollIntervalMs (200 ms) between GetRecords calls: under Kinesis' 5 calls/s.
  const gaps = proxy.forwardedAt.slice(1).map((at, i) => at - proxy.forwardedAt[i]!);
  assert.ok(gaps.every((g) => g >= 199), `GetRecords gaps ${gaps.map(Math.round).join(', ')} ms`);
});

test('SIEM-style regions: one stream name in several regions is read in each region, with its own leases and lag series', async (t) => {
  // kinesis-local keeps streams per region (by the request's signing region), like AWS. Streams created
  // together in two regions often get equal sequence numbers there: event ids must still differ.
  // (The SDK writes into a credentials object it is given, hence the copy below.)
  const emulator = await startKinesisLocal(t);
  const stream = randomName('fortisiem');
  const west = new KinesisClient({ endpoint: emulator.endpoint, region: 'us-west-2', credentials: { ...EMULATOR_CREDENTIALS }, requestHandler: new NodeHttpHandler() });
  t.after(() => west.destroy());
  await emulator.createStream(stream, 1);
  await west.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  await waitFor(async () => (await west.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE', 'the us-west-2 stream');
  await emulator.client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: Buffer.from(event(1)) }));
  await west.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: Buffer.from(event(2)) }));

  const s: Setup = { emulator, stream, dataDir: await tempDir(t), metrics: new Registry() };
  const publisher = new RecordingPublisher();
  const source = await startSource(t, s, publisher, { region: undefined, regions: ['us-east-1', 'us-west-2'] });
  await waitFor(() => publisher.received.size === 2, 'one event from each region');
  const events = [...publisher.received.values()].sort((a, b) => (a.details.n as number) - (b.details.n as number));
  assert.deepEqual(events.map((e) => [e.details.n, e.origin?.region]), [[1, 'us-east-1'], [2, 'us-west-2']]);
  assert.ok(events[0]!.id.startsWith(`kinesis://us-east-1/${stream}/shardId-000000000000:`), events[0]!.id);
  assert.ok(events[1]!.id.startsWith(`kinesis://us-west-2/${stream}/shardId-000000000000:`), events[1]!.id);
  const lag = await s.metrics.getSingleMetric('auditstream_source_millis_behind_latest')!.get();
  assert.deepEqual(lag.values.map((v) => v.labels.shard).sort(), ['us-east-1/shardId-000000000000', 'us-west-2/shardId-000000000000']);
  const status = source.status() as { regions: { region: string; held: unknown[] }[] };
  assert.deepEqual(status.regions.map((r) => [r.region, r.held.length]), [['us-east-1', 1], ['us-west-2', 1]]);
});

test('two streams: records with the same shard id (and possibly sequence number) get ids naming their stream, and the audit store keeps both', async (t) => {
  const first = await setup(t);
  const second: Setup = { ...first, stream: randomName('audit'), dataDir: await tempDir(t) };
  await first.emulator.createStream(second.stream, 1);
  await putLines(first, 1, 1);
  await putLines(second, 2, 1);
  const publisher = new RecordingPublisher();
  await startSource(t, first, publisher);
  await startSource(t, second, publisher);
  await waitFor(() => publisher.received.size === 2, 'one event from each stream');
  const events = [...publisher.received.values()].sort((a, b) => (a.details.n as number) - (b.details.n as number));
  for (const [e, s] of [[events[0]!, first], [events[1]!, second]] as const) {
    assert.equal(e.origin?.shardId, 'shardId-000000000000');
    assert.equal(e.id, `kinesis://us-east-1/${s.stream}/shardId-000000000000:${e.origin?.sequenceNumber}:0`);
  }
  // Both are generic events without an id of their own: the hint is all that keeps them apart in the store.
  const store = new SqliteAuditStore({ path: join(first.dataDir, 'audit.db') });
  t.after(() => store.close());
  assert.deepEqual(await store.insert(events), { inserted: 2, duplicates: 0 });
  assert.deepEqual(await store.insert(events), { inserted: 0, duplicates: 2 }, 'a replay of either stream dedupes');
});

test('shard sync: the first sync starts at startingPosition (LATEST skips closed shards); shards found later start at TRIM_HORIZON', () => {
  const shards = [
    { shardId: 'shardId-0', parentShardIds: [], closed: true },
    { shardId: 'shardId-1', parentShardIds: ['shardId-0'], closed: false },
  ];
  const plan = (existing: Lease[], position: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP') =>
    leasesToCreate(shards, existing, position).map((l) => [l.leaseKey, l.checkpoint, l.parentShardIds]);
  assert.deepEqual(plan([], 'LATEST'), [['shardId-0', 'SHARD_END', []], ['shardId-1', 'LATEST', ['shardId-0']]]);
  assert.deepEqual(plan([], 'TRIM_HORIZON'), [['shardId-0', 'TRIM_HORIZON', []], ['shardId-1', 'TRIM_HORIZON', ['shardId-0']]]);
  assert.deepEqual(plan([], 'AT_TIMESTAMP'), [['shardId-0', 'AT_TIMESTAMP', []], ['shardId-1', 'AT_TIMESTAMP', ['shardId-0']]]);
  const known = { leaseKey: 'shardId-0', checkpoint: 'SHARD_END' } as Lease;
  assert.deepEqual(plan([known], 'LATEST'), [['shardId-1', 'TRIM_HORIZON', ['shardId-0']]]);
});

test('config: unknown keys, a poll faster than 5 calls/s and a missing stream are refused with the key path', () => {
  const parse = (c: Record<string, unknown>) => parseConfig(kinesisSourceDefinition.schema, c, 'sources[0]');
  assert.throws(() => parse({ streamName: 'a', region: 'us-east-1', pollIntervalMs: 100 }), /sources\[0\]\.pollIntervalMs/);
  assert.throws(() => parse({ streamName: 'a', region: 'us-east-1', shardz: 1 }), /sources\[0\]\.shardz: unknown key/);
  assert.throws(() => parse({ region: 'us-east-1' }), /sources\[0\]\.streamName/);
  assert.throws(() => parse({ streamName: 'a', region: 'us-east-1', maxRecordsPerCall: 10_001 }), /maxRecordsPerCall/);
  assert.throws(() => parse({ streamName: 'a', region: 'us-east-1', startingPosition: 'AT_TIMESTAMP' }), /startingTimestamp/);
  const c = parse({ streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/audit' });
  assert.deepEqual(c.regions, ['eu-west-1']);
  assert.deepEqual(c.leaseTable, { type: 'sqlite' });
  assert.deepEqual(parse({ streamName: 'a', regions: ['us-east-1', 'us-west-2'] }).regions, ['us-east-1', 'us-west-2']);
});
