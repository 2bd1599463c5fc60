import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import { ComponentMetrics } from '../../src/core/component-metrics.js';
import { ConfigError } from '../../src/core/errors.js';
import type { AuditEvent } from '../../src/core/event.js';
import { newEventId } from '../../src/core/ids.js';
import { createLogger } from '../../src/core/logger.js';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds } from '../../src/core/time.js';
import { s3SinkDefinition } from '../../src/sinks/s3/sink.js';
import type { Publisher, PublishResult } from '../../src/sources/source.js';
import { S3Source, s3SourceDefinition } from '../../src/sources/s3/source.js';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, startS3rver, type S3rver } from '../support/s3rver.js';
import { deleteDenyingProxy } from '../support/s3-delete-denying-proxy.js';
import { tempDir, waitFor } from '../support/temp.js';
import { fixture } from '../formats/fixtures.js';
import { DEFAULT_MAX_DEPTH } from '../../src/formats/parse-helpers/depth.js';

/**
 * A publisher double that records what it was handed and answers as told.
 * The router and queues behind the real Publisher are tested in test/pipeline;
 * here the subject is what the source hands over and when it advances.
 */
class RecordingPublisher implements Publisher {
  readonly published: AuditEvent[] = [];
  readonly attempts: AuditEvent[][] = [];
  answer: () => Promise<PublishResult> = async () => ({ ok: true, failed: [] });
  async publish(events: AuditEvent[]): Promise<PublishResult> {
    this.attempts.push(events);
    const result = await this.answer();
    if (result.ok) this.published.push(...events);
    return result;
  }
}

const blitz = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${tag}-${i}`, type: 'login', timestamp: 1700476187069 + i, subject_id: `BIP-${i}`, ip: '10.0.0.1' })).join('\n') + '\n';

const cloudTrailFile = JSON.stringify({
  Records: [0, 1, 2].map((i) => ({
    eventVersion: '1.08',
    eventID: `ct-${i}`,
    eventTime: '2024-03-01T10:00:0' + i + 'Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'DeleteUser',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/alice', userName: 'alice' },
  })),
});

function createSource(s3: Pick<S3rver, 'endpoint'>, dataDir: string, overrides: Record<string, unknown> = {}, eventTime: EventTimeBounds = DEFAULT_EVENT_TIME_BOUNDS) {
  const config = parseConfig(
    s3SourceDefinition.schema,
    { bucket: 'logs', prefix: 'in/', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, pollIntervalSec: 0.1, ...overrides },
    'sources[0]',
  );
  const registry = new Registry();
  return s3SourceDefinition.create('archive', config, { configPath: 'sources[0]', dataDir, logger: createLogger('fatal'), metrics: registry, component: new ComponentMetrics(registry, 'source', 'archive', 's3'), eventTime, maxDepth: DEFAULT_MAX_DEPTH });
}

async function startSource(
  t: TestContext,
  s3: Pick<S3rver, 'endpoint'>,
  dataDir: string,
  publisher: Publisher,
  overrides: Record<string, unknown> = {},
  eventTime: EventTimeBounds = DEFAULT_EVENT_TIME_BOUNDS,
) {
  const source = createSource(s3, dataDir, overrides, eventTime);
  await source.start(publisher);
  t.after(() => source.stop());
  return source;
}

const ids = (events: AuditEvent[]) => events.map((e) => e.id).sort();

test('plain, gzip and CloudTrail objects are published once each, with their key as origin', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/2024/01/a.jsonl', blitz(3, 'a'));
  await s3.put('logs', 'in/2024/01/b.jsonl.gz', gzipSync(blitz(700, 'b')));
  await s3.put('logs', 'in/2024/02/ct.json.gz', gzipSync(cloudTrailFile));
  await s3.put('logs', 'in/aws-logs-write-test', 'Permission Check Successful');
  await s3.put('logs', 'elsewhere/x.jsonl', blitz(1, 'x'));
  const publisher = new RecordingPublisher();
  const source = await startSource(t, s3, await tempDir(t), publisher);

  await waitFor(() => (source.status().objectsRead as number) === 3, 'three objects read');

  const expected = [...[0, 1, 2].map((i) => `a-${i}`), ...Array.from({ length: 700 }, (_, i) => `b-${i}`), 'ct-0', 'ct-1', 'ct-2'].sort();
  assert.deepEqual(ids(publisher.published), expected);
  const ct = publisher.published.find((e) => e.id === 'ct-1')!;
  assert.equal(ct.type, 'cloudtrail.DeleteUser');
  assert.deepEqual(ct.origin, { bucket: 'logs', key: 'in/2024/02/ct.json.gz' });
  assert.ok(publisher.attempts.every((a) => a.length <= 500), 'published in chunks');
});

test('the source holds event times to audit.eventTime, as HTTP ingest does: a record out of the window is kept as unparsed, saying why', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  const lines = [
    { id: 'in-window', type: 'login', timestamp: 1709287200000, subject_id: 'BIP-1' }, // 2024-03-01
    { id: 'too-old', type: 'login', timestamp: 1600000000000, subject_id: 'BIP-2' }, // 2020-09-13
  ];
  await s3.put('logs', 'in/a.jsonl', lines.map((l) => JSON.stringify(l)).join('\n'));
  const publisher = new RecordingPublisher();
  const eventTime = { notBeforeMs: Date.parse('2024-01-01T00:00:00Z'), maxAheadSec: 86_400 };
  const source = await startSource(t, s3, await tempDir(t), publisher, {}, eventTime);
  await waitFor(() => (source.status().objectsRead as number) === 1, 'the object read');
  assert.deepEqual(publisher.published.map((e) => e.type), ['login', 'unparsed']);
  assert.equal(publisher.published[0]!.id, 'in-window');
  assert.equal(publisher.published[1]!.details.unparsedReason, 'line 2: timestamp: 2020-09-13T12:26:40.000Z is before 2024-01-01T00:00:00.000Z (audit.eventTime.notBefore)');
});

/** A login event whose `extra` field makes it `depth` levels deep. */
const nested = (id: string, depth: number) => `{"id":"${id}","type":"login","time":"2024-03-01T10:00:00Z","extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

test('server.limits.maxDepth holds on S3 objects: a deeper line is kept as unparsed naming depth, the rest of the object delivered', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/a.jsonl', [nested('good-1', 64), nested('deep', 65), nested('overflowing', 100_000), nested('good-2', 2)].join('\n'));
  // One pretty-printed document too deep to parse: refused as one, never parsed.
  await s3.put('logs', 'in/b.json', `{\n  "id": "pretty",\n  "extra": ${'['.repeat(80)}${']'.repeat(80)}\n}\n`);
  const publisher = new RecordingPublisher();
  const source = await startSource(t, s3, await tempDir(t), publisher);
  await waitFor(() => (source.status().objectsRead as number) === 2, 'both objects read');
  assert.deepEqual(publisher.published.filter((e) => e.type === 'login').map((e) => e.id), ['good-1', 'good-2']);
  assert.deepEqual(publisher.published.filter((e) => e.type === 'unparsed').map((e) => [e.origin?.key, e.details.unparsedReason]), [
    ['in/a.jsonl', 'line 2: nested 65 levels deep, over server.limits.maxDepth (64)'],
    ['in/a.jsonl', 'line 3: nested 100000 levels deep, over server.limits.maxDepth (64)'],
    ['in/b.json', 'line 1: nested 81 levels deep, over server.limits.maxDepth (64)'],
  ]);
  assert.equal(source.status().lastError, null);
});

test('a CloudWatch Logs export file is read line by line with decode: cloudwatch-logs-export', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  const exported = [0, 1].map((i) => `2024-03-01T10:00:0${i}.000Z ${JSON.stringify({ id: `cw-${i}`, type: 'login', timestamp: 1709287200000 + i, subject_id: 'BIP-1' })}`).join('\n');
  await s3.put('logs', 'in/0f1e2d3c-task/app-stream/000000.gz', gzipSync(exported + '\n'));
  await s3.put('logs', 'in/aws-logs-write-test', 'Permission Check Successful');
  const publisher = new RecordingPublisher();
  await startSource(t, s3, await tempDir(t), publisher, { decode: 'cloudwatch-logs-export', deleteAfterRead: true });

  await waitFor(async () => (await s3.keys('logs')).join() === 'in/aws-logs-write-test', 'the export file to be read and deleted');
  assert.deepEqual(ids(publisher.published), ['cw-0', 'cw-1']);
  assert.equal(publisher.published[0]!.type, 'login');
});

test('VPC flow logs: vpcFlowFormat reads custom-format objects; an object with a header line is read by its header', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  // As AWS delivers text flow logs to S3: gzip'd, a header line of field names first.
  await s3.put('logs', 'in/AWSLogs/123456789012/vpcflowlogs/us-east-1/with-header.log.gz', gzipSync(fixture('vpc-flow-s3-header.log')));
  await s3.put('logs', 'in/custom.log', fixture('vpc-flow-v5-custom.log'));
  const vpcFlowFormat =
    '${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ' +
    '${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ' +
    '${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}';
  const publisher = new RecordingPublisher();
  const source = await startSource(t, s3, await tempDir(t), publisher, { vpcFlowFormat });

  await waitFor(() => (source.status().objectsRead as number) === 2, 'both objects read');
  const byKey = (suffix: string) => publisher.published.filter((e) => e.origin!.key!.endsWith(suffix));
  assert.deepEqual(byKey('with-header.log.gz').map((e) => [e.type, e.outcome, e.details['reject-reason']]), [
    ['vpc.flow', 'failure', 'BPA'],
    ['vpc.flow', 'success', null],
    ['vpc.nodata', 'unknown', null],
  ]);
  const [custom] = byKey('custom.log');
  assert.equal(custom!.type, 'vpc.flow');
  assert.deepEqual([custom!.details['traffic-path'], custom!.details['pkt-dst-aws-service'], custom!.details['flow-direction']], [8, 'S3', 'egress']);
});

test('progress survives a restart: a second source reads nothing old and picks up a new object', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/2024/01/01.jsonl', blitz(5, 'old1'));
  await s3.put('logs', 'in/2024/01/02.jsonl', blitz(5, 'old2'));
  const dataDir = await tempDir(t);
  const first = new RecordingPublisher();
  const one = await startSource(t, s3, dataDir, first);
  await waitFor(() => first.published.length === 10, 'the first instance to read both objects');
  await one.stop();

  const second = new RecordingPublisher();
  const two = await startSource(t, s3, dataDir, second);
  await waitFor(() => (two.status().polls as number) >= 2, 'the second instance to poll');
  await s3.put('logs', 'in/2024/01/03.jsonl', blitz(4, 'new'));
  await waitFor(() => second.published.length >= 4, 'the new object');

  assert.deepEqual(ids(second.published), ['new-0', 'new-1', 'new-2', 'new-3']);
  assert.equal(two.status().lastReadKey, 'in/2024/01/03.jsonl');
});

test('deleteAfterRead deletes an object only after all its events were acknowledged', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/export/task-b/stream/000000.gz', gzipSync(blitz(3, 'b')));
  const publisher = new RecordingPublisher();
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  publisher.answer = async () => {
    await held;
    return { ok: true, failed: [] };
  };
  const source = await startSource(t, s3, await tempDir(t), publisher, { deleteAfterRead: true });

  await waitFor(() => publisher.attempts.length === 1, 'the publish to start');
  assert.deepEqual(await s3.keys('logs'), ['in/export/task-b/stream/000000.gz'], 'not deleted while unacknowledged');
  release();
  await waitFor(async () => (await s3.keys('logs')).length === 0, 'the object to be deleted');
  assert.deepEqual(ids(publisher.published), ['b-0', 'b-1', 'b-2']);

  // With deletion, an object whose key sorts before the last one read is still found.
  await s3.put('logs', 'in/export/task-a/stream/000000.gz', gzipSync(blitz(2, 'a')));
  await waitFor(async () => (await s3.keys('logs')).length === 0 && publisher.published.length === 5, 'the earlier-sorting object');
  assert.equal(source.status().deleteFailures, 0);
});

test('a publish that is not acknowledged does not advance: the object is retried with the same event ids', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  // Records without ids of their own: the source gives them deterministic ones.
  const lines = Array.from({ length: 6 }, (_, i) => JSON.stringify({ type: 'login', user: `u${i}`, time: '2024-03-01T00:00:00Z' })).join('\n');
  await s3.put('logs', 'in/a.jsonl', lines);
  const dataDir = await tempDir(t);
  const publisher = new RecordingPublisher();
  publisher.answer = async () => ({ ok: false, failed: [{ emitter: 'store', reason: 'queue full' }], retryAfterSec: 0.1 });
  const first = await startSource(t, s3, dataDir, publisher, { deleteAfterRead: true });

  await waitFor(() => publisher.attempts.length >= 3, 'repeated attempts');
  assert.deepEqual(await s3.keys('logs'), ['in/a.jsonl'], 'not deleted');
  assert.equal(first.status().objectsRead, 0);
  assert.match(String((first.status().lastError as { message: string }).message), /not acknowledged \(store: queue full\)/);
  const attemptIds = publisher.attempts.map((a) => a.map((e) => e.id).join(','));
  assert.equal(new Set(attemptIds).size, 1, 'every attempt carries the same ids');
  await first.stop();

  // A restart re-reads the unacknowledged object and produces the same ids again.
  const second = new RecordingPublisher();
  await startSource(t, s3, dataDir, second, { deleteAfterRead: true });
  await waitFor(async () => second.published.length === 6 && (await s3.keys('logs')).length === 0, 'the object after acknowledgement');
  assert.equal(second.published.map((e) => e.id).join(','), attemptIds[0]);
});

test('a partly acknowledged object resumes after the acknowledged chunks on restart', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/big.jsonl', blitz(25, 'p'));
  const dataDir = await tempDir(t);
  const publisher = new RecordingPublisher();
  let calls = 0;
  publisher.answer = async () => (++calls <= 2 ? { ok: true, failed: [] } : { ok: false, failed: [{ emitter: 'kafka', reason: 'timeout' }] });
  const first = await startSource(t, s3, dataDir, publisher, { publishChunk: 10 });
  await waitFor(() => calls >= 3, 'the third chunk to be refused');
  await first.stop();
  assert.deepEqual(ids(publisher.published), Array.from({ length: 20 }, (_, i) => `p-${i}`).sort());

  const second = new RecordingPublisher();
  const again = await startSource(t, s3, dataDir, second, { publishChunk: 10 });
  await waitFor(() => (again.status().objectsRead as number) === 1, 'the rest of the object');
  assert.deepEqual(ids(second.published), ['p-20', 'p-21', 'p-22', 'p-23', 'p-24']);
});

/**
 * s3rver has no IAM, so nothing real here can refuse s3:DeleteObject. This
 * proxy forwards every request to s3rver unchanged and, while `denyDeletes`
 * is set, answers DELETE requests the way S3 does for a role without the
 * permission (403 AccessDenied), like a bucket policy that allows only reads.
 */
test('deleteAfterRead without s3:DeleteObject: the object is published once, the failure is reported, and the delete is retried later', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/export/task-a/000000.gz', gzipSync(blitz(3, 'a')));
  const proxy = await deleteDenyingProxy(t, s3);
  const dataDir = await tempDir(t);
  const publisher = new RecordingPublisher();
  const first = await startSource(t, proxy, dataDir, publisher, { deleteAfterRead: true });

  await waitFor(() => (first.status().polls as number) >= 5 && proxy.deniedDeletes >= 2, 'several polls with the delete refused');
  assert.deepEqual(ids(publisher.published), ['a-0', 'a-1', 'a-2'], 'published once, not on every poll');
  const status = first.status();
  assert.equal(status.undeleted, 1);
  assert.ok((status.deleteFailures as number) >= 2);
  assert.equal((status.undeletedExample as { key: string }).key, 'in/export/task-a/000000.gz');
  assert.match((status.lastError as { message: string }).message, /delete s3:\/\/logs\/in\/export\/task-a\/000000\.gz.*AccessDenied/);
  await first.stop();

  // A restart does not publish the undeleted object again either; once the permission is granted, it is deleted.
  const second = new RecordingPublisher();
  const again = await startSource(t, proxy, dataDir, second, { deleteAfterRead: true });
  await waitFor(() => (again.status().polls as number) >= 2, 'the restarted source to poll');
  proxy.denyDeletes = false;
  await waitFor(async () => (await s3.keys('logs')).length === 0, 'the delete to be retried and succeed');
  await waitFor(() => again.status().undeleted === 0 && again.status().completed === 0, 'the state to forget the deleted object');
  assert.deepEqual(second.published, []);
});

test('without deleteAfterRead, an object whose key sorts before ones already read is still read, once', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/2024/03/01/b.jsonl', blitz(2, 'b'));
  const dataDir = await tempDir(t);
  const publisher = new RecordingPublisher();
  const first = await startSource(t, s3, dataDir, publisher);
  await waitFor(() => publisher.published.length === 2, 'the first object');

  await s3.put('logs', 'in/2024/02/28/a.jsonl', blitz(3, 'a'));
  await waitFor(() => publisher.published.length === 5, 'the earlier-sorting object');
  await waitFor(() => (first.status().polls as number) >= 3, 'more polls');
  assert.deepEqual(ids(publisher.published), ['a-0', 'a-1', 'a-2', 'b-0', 'b-1']);
  await first.stop();

  // Stopped meanwhile: an earlier-sorting object appears, and a read one is removed from the bucket (forgotten).
  await s3.put('logs', 'in/2024/01/15/early.jsonl', blitz(1, 'early'));
  await s3.client.send(new DeleteObjectCommand({ Bucket: 'logs', Key: 'in/2024/03/01/b.jsonl' }));
  const second = new RecordingPublisher();
  const restarted = await startSource(t, s3, dataDir, second);
  await waitFor(() => second.published.length === 1 && restarted.status().completed === 2, 'the early object, and b forgotten');
  await waitFor(() => (restarted.status().polls as number) >= 2, 'another poll');
  assert.deepEqual(ids(second.published), ['early-0'], 'nothing read before is read again');
});

test('a prefix longer than one listing page is read whole, and a restart re-reads nothing from any page', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  const keys = Array.from({ length: 7 }, (_, i) => `in/2024/05/${String(i).padStart(2, '0')}.jsonl`);
  for (const [i, key] of keys.entries()) await s3.put('logs', key, blitz(2, `o${i}`));
  const firstPage = await s3.client.send(new ListObjectsV2Command({ Bucket: 'logs', Prefix: 'in/', MaxKeys: 3 }));
  assert.ok(firstPage.IsTruncated && firstPage.Contents?.length === 3, 's3rver pages at MaxKeys 3, so the listing has three pages');

  const dataDir = await tempDir(t);
  const registry = new Registry();
  const ctx = { configPath: 'sources[0]', dataDir, logger: createLogger('fatal'), metrics: registry, component: new ComponentMetrics(registry, 'source', 'archive', 's3'), eventTime: DEFAULT_EVENT_TIME_BOUNDS, maxDepth: DEFAULT_MAX_DEPTH };
  const config = parseConfig(
    s3SourceDefinition.schema,
    { bucket: 'logs', prefix: 'in/', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, pollIntervalSec: 0.1 },
    'sources[0]',
  );
  const paged = (publisher: Publisher) => {
    const source = new S3Source('archive', config, ctx, { listPageSize: 3 });
    t.after(() => source.stop());
    return source.start(publisher).then(() => source);
  };

  const first = new RecordingPublisher();
  const one = await paged(first);
  await waitFor(() => (one.status().polls as number) >= 2, 'two full polls');
  assert.deepEqual(ids(first.published), keys.flatMap((_, i) => [`o${i}-0`, `o${i}-1`]).sort(), 'every object on every page, once');
  await one.stop();

  // Had a listing ended after its first page, the objects of later pages would be forgotten and read again here.
  const second = new RecordingPublisher();
  const two = await paged(second);
  await waitFor(() => (two.status().polls as number) >= 2, 'two polls after the restart');
  assert.deepEqual(second.published, []);
  assert.equal(two.status().completed, 7);
});

test('objects the S3 emitter writes later under earlier event-time keys are all read back', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  const sinkConfig = parseConfig(
    s3SinkDefinition.schema,
    { bucket: 'logs', prefix: 'in', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS },
    'audit.emitters[0]',
  );
  const sink = s3SinkDefinition.create(sinkConfig, { configPath: 'audit.emitters[0]', emitterName: 'archive', dataDir: await tempDir(t), logger: createLogger('fatal'), metrics: new Registry() });
  t.after(() => sink.close());
  const batch = (hour: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: newEventId(), time: new Date(Date.UTC(2024, 4, 1, hour, 0, i)).toISOString(), type: 'login', source: 'blitz', outcome: 'success' as const, actor: `u${i}`, details: {}, raw: '{}' }));
  const publisher = new RecordingPublisher();
  const source = await startSource(t, s3, await tempDir(t), publisher);

  const onTime = batch(10, 4);
  await sink.send(onTime, AbortSignal.timeout(20_000));
  await waitFor(() => publisher.published.length === 4, 'the first object');
  // Events delivered late (a producer that was offline) get an earlier hour in their key than the object already read.
  const late = batch(9, 3);
  await sink.send(late, AbortSignal.timeout(20_000));

  await waitFor(() => publisher.published.length === 7, 'the late object');
  const [lateKey, onTimeKey] = await s3.keys('logs');
  assert.ok(lateKey! < onTimeKey!, `the late batch's key sorts first: ${lateKey} < ${onTimeKey}`);
  assert.deepEqual(ids(publisher.published), [...onTime, ...late].map((e) => e.id).sort());
  assert.equal(source.status().completed, 2);
});

test('state written for another bucket or prefix is refused at start, naming the source', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  const dataDir = await tempDir(t);
  const first = await startSource(t, s3, dataDir, new RecordingPublisher());
  await first.stop();

  for (const other of [{ prefix: 'elsewhere/' }, { bucket: 'other-logs' }]) {
    assert.throws(
      () => createSource(s3, dataDir, other),
      (err) =>
        err instanceof ConfigError &&
        err.path === 'sources[0].name' &&
        err.problem.includes('s3://logs/in/') &&
        err.problem.includes(`s3://${other.bucket ?? 'logs'}/${other.prefix ?? 'in/'}`),
    );
  }
  // The same location resumes.
  await startSource(t, s3, dataDir, new RecordingPublisher());
});

test('an object over maxObjectBytes is skipped by its listed size, reported with its key, and the objects after it are read', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/a.jsonl', blitz(2, 'a'));
  const big = blitz(40, 'big');
  assert.ok(big.length > 2048);
  await s3.put('logs', 'in/b-big.jsonl', big);
  await s3.put('logs', 'in/c.jsonl', blitz(2, 'c'));
  const registry = new Registry();
  const config = parseConfig(
    s3SourceDefinition.schema,
    { bucket: 'logs', prefix: 'in/', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, pollIntervalSec: 0.1, deleteAfterRead: true, maxObjectBytes: '2KiB' },
    'sources[0]',
  );
  const source = new S3Source('archive', config, { configPath: 'sources[0]', dataDir: await tempDir(t), logger: createLogger('fatal'), metrics: registry, component: new ComponentMetrics(registry, 'source', 'archive', 's3'), eventTime: DEFAULT_EVENT_TIME_BOUNDS, maxDepth: DEFAULT_MAX_DEPTH });
  const publisher = new RecordingPublisher();
  await source.start(publisher);
  t.after(() => source.stop());

  await waitFor(async () => (await s3.keys('logs')).join() === 'in/b-big.jsonl', 'the other objects read and deleted');
  await waitFor(() => (source.status().polls as number) >= 3, 'more polls');
  assert.deepEqual(ids(publisher.published), ['a-0', 'a-1', 'c-0', 'c-1']);
  const status = source.status();
  assert.equal(status.objectsTooLarge, 1);
  assert.equal((status.lastError as { message: string }).message, `s3://logs/in/b-big.jsonl: ${big.length} bytes, over maxObjectBytes (2048); skipped, not read`);
  const errors = (await registry.getSingleMetric('auditstream_component_errors_total')!.get()).values.filter((v) => v.labels.error_type === 'object_too_large');
  assert.deepEqual(errors.map((v) => v.value), [1], 'counted once, not at every poll');
});

test('an object that cannot be read (GetObject refused) does not hold back the objects after it, and is read once it can be', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('logs');
  await s3.put('logs', 'in/a.jsonl', blitz(2, 'a'));
  await s3.put('logs', 'in/b.jsonl', blitz(2, 'b'));
  await s3.put('logs', 'in/c.jsonl', blitz(2, 'c'));
  const proxy = await deleteDenyingProxy(t, s3);
  proxy.denyGets.add('in/b.jsonl');
  const publisher = new RecordingPublisher();
  const source = await startSource(t, proxy, await tempDir(t), publisher);

  await waitFor(() => publisher.published.length === 4 && proxy.deniedGets >= 2, 'the readable objects, and the refused one tried again');
  assert.deepEqual(ids(publisher.published), ['a-0', 'a-1', 'c-0', 'c-1']);
  assert.match((source.status().lastError as { message: string }).message, /read s3:\/\/logs\/in\/b\.jsonl: AccessDenied/);

  proxy.denyGets.clear();
  await waitFor(() => publisher.published.length === 6, 'the object once it can be read');
  assert.deepEqual(ids(publisher.published), ['a-0', 'a-1', 'b-0', 'b-1', 'c-0', 'c-1']);
});
