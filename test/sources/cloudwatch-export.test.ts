/**
 * The cloudwatch-export source against a real S3 server (s3rver) and a local
 * CloudWatch Logs double (test/support/cloudwatch-logs-double.ts): no
 * CloudWatch Logs emulator exists here, so the double answers the three calls
 * the source makes and writes real export objects, in AWS' layout, into s3rver.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { join } from 'node:path';
import { CloudWatchLogsClient, CreateExportTaskCommand } from '@aws-sdk/client-cloudwatch-logs';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import { ComponentMetrics } from '../../src/core/component-metrics.js';
import { ConfigError } from '../../src/core/errors.js';
import type { AuditEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/logger.js';
import { DEFAULT_EVENT_TIME_BOUNDS } from '../../src/core/time.js';
import { cloudWatchExportSourceDefinition } from '../../src/sources/cloudwatch-export/source.js';
import { CloudWatchExportState } from '../../src/sources/cloudwatch-export/state.js';
import type { Publisher, PublishResult } from '../../src/sources/source.js';
import { startCloudWatchLogsDouble, type CloudWatchLogsDouble, type DoubleTask } from '../support/cloudwatch-logs-double.js';
import { deleteDenyingProxy } from '../support/s3-delete-denying-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rver } from '../support/s3rver.js';
import { allStoredEvents } from '../support/search.js';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';
import { DEFAULT_MAX_DEPTH } from '../../src/formats/parse-helpers/depth.js';

/**
 * A publisher double recording what it was handed and answering as told: the
 * subject here is what the source hands over and when it advances; the
 * router and queues behind the real Publisher are tested in test/pipeline.
 */
class RecordingPublisher implements Publisher {
  readonly published: AuditEvent[] = [];
  answer: () => Promise<PublishResult> = async () => ({ ok: true, failed: [] });
  async publish(events: AuditEvent[]): Promise<PublishResult> {
    const result = await this.answer();
    if (result.ok) this.published.push(...events);
    return result;
  }
}

const WINDOW_MS = 1000;

/** A window start a few windows in the past, so several windows are ready at once. */
function baseMs(windowsAgo: number): number {
  return Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS - windowsAgo * WINDOW_MS;
}

/** `perWindow` events in each of `windows` windows from `base`, with ids `<tag>-<window>-<i>`. */
function putWindows(cw: CloudWatchLogsDouble, group: string, tag: string, base: number, windows: number, perWindow: number): string[] {
  const ids: string[] = [];
  for (let w = 0; w < windows; w++) {
    const events = Array.from({ length: perWindow }, (_, i) => {
      const id = `${tag}-${w}-${i}`;
      ids.push(id);
      const timestamp = base + w * WINDOW_MS + 10 + i;
      return { timestamp, message: JSON.stringify({ id, type: 'login', time: new Date(timestamp).toISOString(), actor: `user${i}` }) };
    });
    cw.putEvents(group, `stream-${w % 2}`, events);
  }
  return ids;
}

async function setUp(t: TestContext): Promise<{ s3: S3rver; cw: CloudWatchLogsDouble }> {
  const s3 = await startS3rver(t);
  await s3.createBucket('exports');
  const cw = await startCloudWatchLogsDouble(t, s3.client);
  return { s3, cw };
}

function sourceConfig(s3: S3rver, cw: CloudWatchLogsDouble, startMs: number, overrides: Record<string, unknown> = {}) {
  return {
    logGroupPrefix: '/app/',
    region: 'us-east-1',
    endpoint: cw.endpoint,
    s3Endpoint: s3.endpoint,
    credentials: { ...S3RVER_CREDENTIALS },
    forcePathStyle: true,
    bucket: 'exports',
    prefix: 'cw',
    windowSec: WINDOW_MS / 1000,
    delaySec: 0,
    startAt: new Date(startMs).toISOString(),
    pollEverySec: 0.1,
    discoverEverySec: 0.5,
    ...overrides,
  };
}

async function startSource(t: TestContext, dataDir: string, raw: Record<string, unknown>, publisher: Publisher) {
  const config = parseConfig(cloudWatchExportSourceDefinition.schema, raw, 'sources[0]');
  const registry = new Registry();
  const source = cloudWatchExportSourceDefinition.create('cw', config, {
    configPath: 'sources[0]',
    dataDir,
    logger: createLogger('fatal'),
    metrics: registry,
    component: new ComponentMetrics(registry, 'source', 'cw', 'cloudwatch-export'),
    eventTime: DEFAULT_EVENT_TIME_BOUNDS,
    maxDepth: DEFAULT_MAX_DEPTH,
  });
  await source.start(publisher);
  t.after(() => source.stop());
  return source;
}

/** Windows exported to completion, per group, in order. */
function completedWindows(tasks: readonly DoubleTask[], group: string): [number, number][] {
  return tasks
    .filter((x) => x.logGroupName === group && x.status.code === 'COMPLETED')
    .map((x): [number, number] => [x.from, x.to])
    .sort((a, b) => a[0] - b[0]);
}

function assertContiguous(windows: [number, number][], startMs: number, what: string): void {
  let next = startMs;
  for (const [from, to] of windows) {
    assert.equal(from, next, `${what}: window from ${new Date(from).toISOString()} follows the previous one (no repeat, no gap)`);
    assert.equal(to, from + WINDOW_MS - 1, `${what}: windows are windowSec long, both ends included`);
    next = to + 1;
  }
}

test('serve: events of two log groups reach the audit store exactly once across a SIGTERM and restart in the middle; no window repeated or skipped', async (t) => {
  const { s3, cw } = await setUp(t);
  const start = baseMs(8);
  const expected = [...putWindows(cw, '/app/a', 'a', start, 6, 3), ...putWindows(cw, '/app/b', 'b', start, 6, 3)];
  cw.putEvents('/app/a', 'stream-0', [{ timestamp: start + 50, message: 'not a record any parser takes' }]);
  cw.putEvents('/other/c', 'stream-0', [{ timestamp: start + 50, message: '{"id":"c-0","type":"login"}' }]);
  const dataDir = await tempDir(t);
  const config = {
    sources: [{ type: 'cloudwatch-export', name: 'cw', ...sourceConfig(s3, cw, start), deleteAfterAck: true }],
    audit: { emitters: [{ type: 'audit-store' }] },
  };

  const first = await startServer(t, { dataDir, config });
  await waitFor(() => cw.tasks.length >= 4, 'a few export tasks created');
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).code, 0, first.stderr());
  const beforeRestart = cw.tasks.length;

  const second = await startServer(t, { dataDir, config });
  const stored = await waitFor(async () => {
    const events = await allStoredEvents(second.url);
    return events.length >= expected.length + 1 ? events : null;
  }, 'every exported event stored', 60_000);
  const status = (await (await fetch(`${second.url}/v1/sources`)).json()) as { sources: { name: string; groups?: { name: string; lagSec: number }[] }[] };
  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0, second.stderr());

  assert.ok(cw.tasks.length > beforeRestart, 'the restarted process went on exporting');
  const ids = stored.map((e) => e.id);
  assert.equal(ids.filter((id) => !expected.includes(id)).length, 1, 'the unparseable line kept, once');
  const unparsed = stored.find((e) => !expected.includes(e.id))!;
  assert.equal(unparsed.type, 'cloudwatch.log', 'a CloudWatch Logs line no parser takes is kept with its text');
  assert.match(JSON.stringify(unparsed), /not a record any parser takes/);
  assert.deepEqual(ids.filter((id) => expected.includes(id)).sort(), [...expected].sort(), 'each event once');
  for (const group of ['/app/a', '/app/b']) assertContiguous(completedWindows(cw.tasks, group), start, group);
  assert.ok(!cw.tasks.some((x) => x.logGroupName === '/other/c'), 'a group outside logGroupPrefix is not exported');
  assert.equal(cw.maxActive, 1, 'never two export tasks at once');
  assert.deepEqual(status.sources.find((s) => s.name === 'cw')?.groups?.map((g) => g.name).sort(), ['/app/a', '/app/b'], 'GET /v1/sources lists the groups');
  assert.deepEqual((await s3.keys('exports', 'cw/')).filter((k) => !k.endsWith('aws-logs-write-test')).length, 0, 'deleteAfterAck: every exported object deleted once read');
});

test('one export task at a time: while another task of the account runs, the source waits (LimitExceededException) and creates none', async (t) => {
  const { s3, cw } = await setUp(t);
  const start = baseMs(4);
  const expected = [...putWindows(cw, '/app/a', 'a', start, 2, 2), ...putWindows(cw, '/app/b', 'b', start, 2, 2)];
  const other = cw.holdSlot();
  const publisher = new RecordingPublisher();
  const source = await startSource(t, await tempDir(t), sourceConfig(s3, cw, start), publisher);

  await waitFor(() => cw.limitExceeded >= 2, 'CreateExportTask refused while the other task runs');
  assert.equal(cw.tasks.length, 1, 'only the other task exists');
  await waitFor(() => (source.status().limitWaits as number) >= 2, 'the waits shown in status()');
  other.release();

  await waitFor(() => publisher.published.length === expected.length, 'both groups exported after the slot freed');
  assert.deepEqual(publisher.published.map((e) => e.id).sort(), [...expected].sort());
  assert.equal(cw.maxActive, 1, 'never two export tasks at once, across both groups');
  const first = publisher.published.find((e) => e.id === 'a-0-0')!;
  assert.equal(first.origin?.logGroup, '/app/a');
  assert.equal(first.origin?.logStream, 'stream-0');
  assert.match(String(first.origin?.key), /^cw\/[0-9a-f-]{36}\/stream-0\/000000\.gz$/);
});

test('server.limits.maxDepth holds on exported log events: a deeper message is kept as cloudwatch.log naming depth, its neighbours delivered', async (t) => {
  const { s3, cw } = await setUp(t);
  const start = baseMs(3);
  const message = (id: string, depth: number) => `{"id":"${id}","type":"login","time":"${new Date(start).toISOString()}","extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
  cw.putEvents('/app/a', 'stream-0', [
    { timestamp: start + 10, message: message('good-1', 64) },
    { timestamp: start + 11, message: message('deep', 65) },
    { timestamp: start + 12, message: message('overflowing', 100_000) },
    { timestamp: start + 13, message: message('good-2', 2) },
  ]);
  const publisher = new RecordingPublisher();
  await startSource(t, await tempDir(t), sourceConfig(s3, cw, start), publisher);
  await waitFor(() => publisher.published.length === 4, 'the four log events');
  assert.deepEqual(publisher.published.filter((e) => e.type === 'login').map((e) => e.id), ['good-1', 'good-2']);
  assert.deepEqual(publisher.published.filter((e) => e.type === 'cloudwatch.log').map((e) => e.details.unparsedReason), [
    'line 2: nested 65 levels deep, over server.limits.maxDepth (64)',
    'line 3: nested 100000 levels deep, over server.limits.maxDepth (64)',
  ]);
});

test('deleteAfterAck deletes an exported object only after its events were acknowledged', async (t) => {
  const { s3, cw } = await setUp(t);
  const start = baseMs(3);
  putWindows(cw, '/app/a', 'a', start, 1, 3);
  const publisher = new RecordingPublisher();
  let acknowledge = false;
  publisher.answer = async () => (acknowledge ? { ok: true, failed: [] } : { ok: false, failed: [{ emitter: 'store', reason: 'down' }] });
  const source = await startSource(t, await tempDir(t), sourceConfig(s3, cw, start, { deleteAfterAck: true }), publisher);

  const key = await waitFor(async () => (await s3.keys('exports', 'cw/')).find((k) => k.endsWith('/000000.gz')), 'the export object written');
  await waitFor(() => (source.status().lastError as { message: string } | null)?.message.includes('not acknowledged'), 'a publish refused');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok((await s3.keys('exports', 'cw/')).includes(key), 'not deleted while unacknowledged');
  assert.equal(completedWindows(cw.tasks, '/app/a').length, 1, 'the window is not exported again meanwhile');

  acknowledge = true;
  await waitFor(async () => !(await s3.keys('exports', 'cw/')).includes(key), 'deleted once acknowledged');
  assert.deepEqual(publisher.published.map((e) => e.id).sort(), ['a-0-0', 'a-0-1', 'a-0-2']);
  assert.ok((await s3.keys('exports', 'cw/')).includes('cw/aws-logs-write-test'), 'the write-test marker is not the source’s to delete');
});

test('deleteAfterAck without s3:DeleteObject: the window advances, the object is not read again, and the delete is retried until it succeeds', async (t) => {
  const { s3, cw } = await setUp(t);
  const proxy = await deleteDenyingProxy(t, s3);
  const start = baseMs(4);
  putWindows(cw, '/app/a', 'a', start, 1, 3);
  const publisher = new RecordingPublisher();
  const source = await startSource(t, await tempDir(t), sourceConfig(s3, cw, start, { deleteAfterAck: true, s3Endpoint: proxy.endpoint }), publisher);

  await waitFor(() => proxy.deniedDeletes >= 3 && (source.status().deleteFailures as number) >= 3, 'the delete refused, then retried');
  const status = source.status();
  assert.equal(status.undeleted, 1);
  assert.match((status.lastError as { message: string }).message, /delete s3:\/\/exports\/cw\/.*\/000000\.gz.*AccessDenied/);
  assert.ok((status.windowsDone as number) >= 1, 'a refused delete does not hold the window back');
  assert.deepEqual(publisher.published.map((e) => e.id).sort(), ['a-0-0', 'a-0-1', 'a-0-2'], 'published once, not again on each attempt');

  proxy.denyDeletes = false;
  await waitFor(async () => (await s3.keys('exports', 'cw/')).every((k) => !k.endsWith('.gz')) && source.status().undeleted === 0, 'the retried delete to succeed');
  assert.equal(publisher.published.length, 3);
});

test('discovery picks up a log group created after start; a failed export task is retried for the same window', async (t) => {
  const { s3, cw } = await setUp(t);
  const start = baseMs(3);
  const first = putWindows(cw, '/app/a', 'a', start, 1, 2);
  const publisher = new RecordingPublisher();
  const source = await startSource(t, await tempDir(t), sourceConfig(s3, cw, start), publisher);
  await waitFor(() => publisher.published.length === first.length, 'the first group exported');

  cw.failNextTask();
  const later = putWindows(cw, '/app/new', 'n', start, 2, 2);
  await waitFor(() => publisher.published.length === first.length + later.length, 'the new group found and exported', 30_000);
  assert.deepEqual(publisher.published.map((e) => e.id).sort(), [...first, ...later].sort(), 'each event once');
  const failed = cw.tasks.filter((x) => x.status.code === 'FAILED');
  assert.equal(failed.length, 1);
  // The failed task may be a later, empty window of either group: its retry can end after the events above arrived.
  const retried = await waitFor(() => {
    const done = cw.tasks.filter((x) => x.status.code === 'COMPLETED' && x.logGroupName === failed[0]!.logGroupName && x.from === failed[0]!.from);
    return done.length > 0 ? done : null;
  }, 'the failed window exported again');
  assert.equal(retried.length, 1, 'the failed window exported again, once');
  assert.equal(retried[0]!.to, failed[0]!.to);
  assert.ok((source.status().tasksFailed as number) >= 1);
  for (const group of ['/app/a', '/app/new']) assertContiguous(completedWindows(cw.tasks, group), start, group);
});

test('a crash between CreateExportTask and saving its id: the restarted source finds the task by name and creates no second one', async (t) => {
  const { s3, cw } = await setUp(t);
  const start = baseMs(3);
  const expected = putWindows(cw, '/app/a', 'a', start, 1, 3);
  const dataDir = await tempDir(t);
  // What the state holds when the process died right after CreateExportTask was sent.
  const state = new CloudWatchExportState(join(dataDir, 'sources', 'cw'));
  state.addGroup('/app/a', start);
  const taskName = `auditstream-cw-${start}`;
  state.intend({ taskName, group: '/app/a', fromMs: start, toMs: start + WINDOW_MS - 1, bucket: 'exports', prefix: 'cw' });
  state.close();
  const logs = new CloudWatchLogsClient({ endpoint: cw.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  t.after(() => logs.destroy());
  await logs.send(new CreateExportTaskCommand({ taskName, logGroupName: '/app/a', from: start, to: start + WINDOW_MS - 1, destination: 'exports', destinationPrefix: 'cw' }));

  const publisher = new RecordingPublisher();
  await startSource(t, dataDir, sourceConfig(s3, cw, start), publisher);
  await waitFor(() => publisher.published.length === expected.length, 'the adopted task read');
  assert.deepEqual(publisher.published.map((e) => e.id).sort(), [...expected].sort());
  assert.equal(cw.tasks.filter((x) => x.from === start && x.logGroupName === '/app/a').length, 1, 'one task for the window');
  assert.equal(cw.limitExceeded, 0, 'no CreateExportTask while the adopted task ran');
});

test('a log group CreateExportTask refuses (deleted) does not hold back the others; status() names the reason', async (t) => {
  const { s3, cw } = await setUp(t);
  const start = baseMs(3);
  const expected = putWindows(cw, '/app/a', 'a', start, 2, 2);
  const publisher = new RecordingPublisher();
  const source = await startSource(t, await tempDir(t), sourceConfig(s3, cw, start, { logGroups: ['/gone'], discoverEverySec: 60 }), publisher);
  await waitFor(() => publisher.published.length === expected.length, 'the existing group exported');
  const gone = (source.status().groups as { name: string; refused?: string }[]).find((g) => g.name === '/gone');
  assert.match(String(gone?.refused), /ResourceNotFoundException.*\/gone/);
});

test('a group dropped from the config is no longer exported, and keeps its place should it come back', async (t) => {
  const { s3, cw } = await setUp(t);
  const start = baseMs(4);
  const a = putWindows(cw, '/app/a', 'a', start, 1, 2);
  const b = putWindows(cw, '/team/b', 'b', start, 1, 2);
  const dataDir = await tempDir(t);
  const publisher = new RecordingPublisher();
  const first = await startSource(t, dataDir, sourceConfig(s3, cw, start, { logGroups: ['/team/b'] }), publisher);
  await waitFor(() => publisher.published.length === a.length + b.length, 'both groups exported');
  await first.stop();

  const exportedBefore = completedWindows(cw.tasks, '/team/b').length;
  cw.putEvents('/team/b', 'stream-0', [{ timestamp: Date.now() - 1500, message: '{"id":"b-late","type":"login"}' }]);
  const second = await startSource(t, dataDir, sourceConfig(s3, cw, start), new RecordingPublisher());
  await waitFor(() => (second.status().windowsDone as number) >= 3, 'the remaining group exported on');
  assert.equal(completedWindows(cw.tasks, '/team/b').length, exportedBefore, 'no task for the dropped group');
  assert.deepEqual((second.status().groups as { name: string }[]).map((g) => g.name), ['/app/a']);
});

test('config: which log groups to export is required, and the error names the key', () => {
  assert.throws(
    () => parseConfig(cloudWatchExportSourceDefinition.schema, { region: 'us-east-1', bucket: 'exports' }, 'sources[2]'),
    (err: unknown) => err instanceof ConfigError && /sources\[2\]\.logGroupPrefix: .*logGroups/.test((err as Error).message),
  );
  assert.throws(
    () => parseConfig(cloudWatchExportSourceDefinition.schema, { logGroups: ['/a'], bucket: 'exports', startAt: 'yesterday' }, 'sources[2]'),
    (err: unknown) => err instanceof ConfigError && /sources\[2\]\.startAt/.test((err as Error).message),
  );
});
