import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { AuditEvent } from '../../src/core/event.js';
import { newEventId } from '../../src/core/ids.js';
import { s3SinkDefinition } from '../../src/sinks/s3/sink.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rver } from '../support/s3rver.js';
import { startEmitter } from '../support/emitter-harness.js';
import { tempDir } from '../support/temp.js';

// The whole delivery path: the emitter runtime (durable queue, batching by
// bytes and linger time) driving the S3 sink against s3rver.

function events(n: number, tag: string): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: newEventId(),
    time: new Date(Date.UTC(2024, 0, 31, 12) + i).toISOString(),
    type: 'ldap.bind',
    source: 'foxpass',
    outcome: 'success' as const,
    actor: `uid=user${i},dc=example,dc=com`,
    details: { tag, n: i },
    raw: `{"n":${i}}`,
  }));
}

async function startArchiveEmitter(t: TestContext, s3: S3rver, sinkConfig: Record<string, unknown>) {
  const config = s3SinkDefinition.schema.parse({ bucket: 'archive', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, prefix: 'foxpass', ...sinkConfig });
  const dir = await tempDir(t);
  const sink = s3SinkDefinition.create(config, { configPath: 'audit.emitters[0]', emitterName: 'archive', dataDir: dir, logger: pino({ level: 'silent' }), metrics: new Registry() });
  return (await startEmitter(t, sink, { name: 'archive', type: 's3', dir, closeSink: true })).emitter;
}

async function objects(s3: S3rver): Promise<Map<string, AuditEvent[]>> {
  const out = new Map<string, AuditEvent[]>();
  for (const key of await s3.keys('archive')) {
    const lines = gunzipSync(await s3.get('archive', key)).toString('utf8').split('\n').filter((l) => l !== '');
    out.set(key, lines.map((l) => JSON.parse(l) as AuditEvent));
  }
  return out;
}

test('events that arrive together within rollEverySec become one object; later events a new one', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('archive');
  const emitter = await startArchiveEmitter(t, s3, { rollEverySec: 0.5 });
  const first = events(40, 'first');
  const second = events(15, 'second');

  const a = await emitter.enqueue(first, true);
  assert.ok((await Promise.all(a.deliveries)).every((r) => r.delivered));
  const b = await emitter.enqueue(second, true);
  assert.ok((await Promise.all(b.deliveries)).every((r) => r.delivered));

  const written = [...(await objects(s3)).values()].map((evs) => evs.map((e) => e.id));
  assert.deepEqual(written.sort((x, y) => y.length - x.length), [first.map((e) => e.id), second.map((e) => e.id)]);
});

test('maxObjectBytes splits a backlog into several objects, every event exactly once', async (t) => {
  const s3 = await startS3rver(t);
  await s3.createBucket('archive');
  const emitter = await startArchiveEmitter(t, s3, { rollEverySec: 0.5, maxObjectBytes: 8192 });
  const backlog = events(300, 'backlog');
  const totalBytes = backlog.reduce((n, e) => n + JSON.stringify(e).length + 1, 0);

  const { deliveries } = await emitter.enqueue(backlog, true);
  assert.ok((await Promise.all(deliveries)).every((r) => r.delivered));

  const written = await objects(s3);
  assert.ok(written.size >= Math.ceil(totalBytes / 8192), `${written.size} objects for ${totalBytes} bytes`);
  const ids = [...written.values()].flat().map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no event in two objects');
  assert.deepEqual(ids.sort(), backlog.map((e) => e.id).sort());
});
