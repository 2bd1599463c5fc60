import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { ConfigError, FatalError, RetriableError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { newEventId } from '../../src/core/ids.js';
import { s3SinkDefinition } from '../../src/sinks/s3/sink.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rver } from '../support/s3rver.js';
import { tempDir } from '../support/temp.js';

function events(n: number, start = Date.UTC(2024, 0, 31, 23, 59, 58), pad = 0): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const details = { n: i, filler: pad ? randomBytes(pad).toString('base64') : '' };
    const raw = JSON.stringify({ type: 'login', n: i });
    return { id: newEventId(), time: new Date(start + i * 10).toISOString(), type: 'login', source: 'blitz', outcome: 'success', actor: `user${i}`, details, raw };
  });
}

async function createSink(t: TestContext, s3: S3rver, overrides: Record<string, unknown> = {}) {
  const config = parseConfig(
    s3SinkDefinition.schema,
    { bucket: overrides.bucket ?? 'archive', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, prefix: 'audit', ...overrides },
    'audit.emitters[0]',
  );
  const sink = s3SinkDefinition.create(config, { configPath: 'audit.emitters[0]', emitterName: 's3-archive', dataDir: await tempDir(t), logger: createLogger('warn'), metrics: new Registry() });
  t.after(() => sink.close());
  return sink;
}

function readLines(body: Buffer, gzip = true): string[] {
  return (gzip ? gunzipSync(body) : body).toString('utf8').split('\n').filter((l) => l !== '');
}

test('a batch becomes one gzip JSON-lines object under the dated default key, event by event', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('archive');
  const sink = await createSink(t, s3);
  const batch = events(250);

  const outcomes = await sink.send(batch, AbortSignal.timeout(20_000));

  assert.deepEqual(outcomes, batch.map(() => ({ status: 'delivered' })));
  const keys = await s3.keys('archive');
  assert.equal(keys.length, 1);
  assert.match(keys[0]!, /^audit\/2024\/01\/31\/23\/s3-archive-20240131T235958\.000Z-[0-9a-f]{16}\.jsonl\.gz$/);
  const lines = readLines(await s3.get('archive', keys[0]!));
  assert.deepEqual(lines.map((l) => JSON.parse(l)), batch);
});

test('a retried send of the same batch overwrites its own object instead of writing a second copy', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('archive');
  const sink = await createSink(t, s3);
  const batch = events(20);
  const other = events(20);

  await sink.send(batch, AbortSignal.timeout(20_000));
  await sink.send(batch, AbortSignal.timeout(20_000));
  await sink.send(other, AbortSignal.timeout(20_000));

  const keys = await s3.keys('archive');
  assert.equal(keys.length, 2, `expected one object per distinct batch, got ${keys.join(', ')}`);
  const ids = (await Promise.all(keys.map(async (k) => readLines(await s3.get('archive', k))))).flat().map((l) => JSON.parse(l).id as string);
  assert.deepEqual(ids.sort(), [...batch, ...other].map((e) => e.id).sort());
});

test('the sink asks the runtime for batches cut at maxObjectBytes or after rollEverySec', async (t) => {
  const s3 = await startS3rver(t);
  const defaults = await createSink(t, s3);
  assert.equal(defaults.batch.lingerMs, 60_000, 'like Foxpass S3 archives: a new object about once a minute');
  assert.equal(defaults.batch.maxBytes, 64 * 1024 * 1024);
  const tuned = await createSink(t, s3, { rollEverySec: 2, maxObjectBytes: 4096 });
  assert.deepEqual({ lingerMs: tuned.batch.lingerMs, maxBytes: tuned.batch.maxBytes }, { lingerMs: 2000, maxBytes: 4096 });
});

test('codec raw without compression writes the original records, one per line', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('archive');
  const sink = await createSink(t, s3, { codec: 'raw', compression: 'none', keyTemplate: 'raw/{emitter}/{batchId}-{count}{ext}', prefix: '' });
  const batch = events(5);
  const multiLine = { ...events(1)[0]!, raw: 'line one\nline two' };

  const outcomes = await sink.send([...batch, multiLine], AbortSignal.timeout(20_000));

  assert.deepEqual(outcomes.slice(0, 5), batch.map(() => ({ status: 'delivered' })));
  assert.equal(outcomes[5]!.status, 'rejected', 'a multi-line record would be split by every line reader');
  const keys = await s3.keys('archive');
  assert.match(keys[0]!, /^raw\/s3-archive\/[0-9a-f]{16}-5\.log$/);
  assert.deepEqual(readLines(await s3.get('archive', keys[0]!), false), batch.map((e) => e.raw));
});

test('an object larger than one part goes up as a multipart upload and reads back whole', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('archive');
  const sink = await createSink(t, s3, { compression: 'none' });
  // ~12 MiB of incompressible detail: more than one 8 MiB part.
  const batch = events(3000, undefined, 3000);

  await sink.send(batch, AbortSignal.timeout(60_000));

  const [key] = await s3.keys('archive');
  const parts = s3.requests().filter((r) => /^Stored part \d+ of /.test(r));
  assert.equal(parts.length, 2, `expected two uploaded parts, saw: ${s3.requests().join(' | ')}`);
  const lines = readLines(await s3.get('archive', key!), false);
  assert.deepEqual(lines.map((l) => JSON.parse(l).id), batch.map((e) => e.id));
});

test('a missing bucket and unknown credentials are fatal; an unreachable S3 is retriable', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('archive');
  const missing = await createSink(t, s3, { bucket: 'no-such-bucket' });
  await assert.rejects(missing.send(events(1), AbortSignal.timeout(20_000)), (err) => err instanceof FatalError && /NoSuchBucket/.test(err.message));

  const badKey = await createSink(t, s3, { credentials: { accessKeyId: 'AKIANOTKNOWN', secretAccessKey: 'nope' } });
  await assert.rejects(badKey.send(events(1), AbortSignal.timeout(20_000)), (err) => err instanceof FatalError && /InvalidAccessKeyId/.test(err.message));

  const sink = await createSink(t, s3);
  await s3.stop();
  await assert.rejects(sink.send(events(1), AbortSignal.timeout(20_000)), (err) => err instanceof RetriableError && /ECONNREFUSED/.test(err.message));
});

test('check proves the bucket and PutObject with a probe object it removes again, and names what is wrong', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('archive');

  const good = await createSink(t, s3);
  const steps = await good.check(AbortSignal.timeout(20_000));
  assert.deepEqual(steps.map((s) => [s.step, s.ok]), [
    ['find bucket archive', true],
    ['write s3://archive/audit/.auditstream-check', true],
    ['delete s3://archive/audit/.auditstream-check', true],
  ]);
  assert.deepEqual(await s3.keys('archive'), []);

  const missing = await createSink(t, s3, { bucket: 'not-there' });
  const [step] = await missing.check(AbortSignal.timeout(20_000));
  assert.equal(step!.ok, false);
  assert.match(step!.detail, /bucket "not-there" does not exist/);

  const badKey = await createSink(t, s3, { credentials: { accessKeyId: 'AKIANOTKNOWN', secretAccessKey: 'nope' } });
  const [denied] = await badKey.check(AbortSignal.timeout(20_000));
  assert.equal(denied!.ok, false);
  assert.match(denied!.detail, /s3:ListBucket .* or the credentials are invalid/);
});

test('a key template that could collide or names an unknown placeholder is a config error naming the key', () => {
  const parse = (keyTemplate: string) => parseConfig(s3SinkDefinition.schema, { bucket: 'archive', keyTemplate }, 'audit.emitters[3]');
  assert.throws(() => parse('{prefix}/{yyyy}/{emitter}.jsonl'), (err) => err instanceof ConfigError && err.path === 'audit.emitters[3].keyTemplate' && /\{batchId\}/.test(err.problem));
  assert.throws(() => parse('{prefix}/{year}/{batchId}'), (err) => err instanceof ConfigError && /unknown placeholder \{year\}/.test(err.problem));
  assert.throws(
    () => parseConfig(s3SinkDefinition.schema, { bucket: 'archive', rollEvery: 60 }, 'audit.emitters[3]'),
    (err) => err instanceof ConfigError && err.path === 'audit.emitters[3].rollEvery',
  );
});

test('maxObjectBytes is capped at 256 MiB, because every object is built in memory (as one string) before upload', () => {
  const parse = (maxObjectBytes: unknown) => parseConfig(s3SinkDefinition.schema, { bucket: 'archive', maxObjectBytes }, 'audit.emitters[1]');
  assert.equal(parse('256MiB').maxObjectBytes, 256 * 1024 ** 2);
  assert.throws(
    () => parse('1GiB'),
    (err) => err instanceof ConfigError && err.path === 'audit.emitters[1].maxObjectBytes' && /at most 256MiB .* built in memory/.test(err.problem),
  );
  assert.throws(() => parse(5 * 1024 ** 4), (err) => err instanceof ConfigError && err.path === 'audit.emitters[1].maxObjectBytes');
});
