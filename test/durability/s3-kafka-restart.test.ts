import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { startKafkaMock } from '../support/kafka-mock.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../support/s3rver.js';
import { emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const events = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'login', time: '2024-01-01T00:00:00Z', actor: `user${i % 5}` }));

function countIds(ids: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

test('S3 and Kafka emitters: across a broker outage, SIGTERM and restart, every event reaches the bucket and the topic exactly once', async (t) => {
  const dataDir = await tempDir(t);
  const s3 = await startS3rver(t);
  await s3.createBucket('audit-archive');
  const kafka = await startKafkaMock(t, { topics: { audit: 3 } });
  const config = {
    server: { shutdownTimeoutSec: 4 },
    audit: {
      emitters: [
        // Objects roll by size here (and on shutdown), not by time: the test must not wait a minute.
        { type: 's3', bucket: 'audit-archive', prefix: 'idp', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, rollEverySec: 3600, maxObjectBytes: '32KiB' },
        { type: 'kafka', bootstrapServers: kafka.bootstrapServers, topic: 'audit', key: 'actor', retry: { initialBackoffMs: 100, maxBackoffMs: 1000 } },
      ],
    },
  };

  const first = await startServer(t, { dataDir, config });
  for (let k = 0; k < 4; k++) assert.equal((await postEvents(first.url, events(`a${k}`, 50))).status, 202);
  await waitFor(async () => (await kafka.readAll('audit')).length === 200, '200 messages in Kafka');

  await kafka.brokerDown();
  for (let k = 0; k < 4; k++) assert.equal((await postEvents(first.url, events(`b${k}`, 50))).status, 202, 'accepted while the broker is down: they wait on disk');
  await waitFor(async () => (await emitterStatus(first.url)).kafka!.state !== 'idle', 'kafka emitter retrying');
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).code, 0, first.stderr());

  await kafka.brokerUp();
  const second = await startServer(t, { dataDir, config });
  assert.equal((await postEvents(second.url, events('c', 100))).status, 202);
  await waitFor(async () => (await kafka.readAll('audit')).length >= 500, 'all 500 in Kafka after the restart', 60_000);
  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0, second.stderr());

  const expected = [...[0, 1, 2, 3].flatMap((k) => events(`a${k}`, 50)), ...[0, 1, 2, 3].flatMap((k) => events(`b${k}`, 50)), ...events('c', 100)].map((e) => e.id).sort();

  const messages = await kafka.readAll('audit');
  const kafkaIds = messages.map((m) => (JSON.parse(m.payload!) as { id: string }).id);
  assert.deepEqual([...kafkaIds].sort(), expected, 'Kafka holds every event exactly once');
  for (const m of messages) assert.equal(m.key, (JSON.parse(m.payload!) as { actor: string }).actor, 'message key is the actor');

  const keys = await s3.keys('audit-archive', 'idp/');
  assert.ok(keys.length >= 2, `several objects (size roll and shutdown flush): ${keys.join(', ')}`);
  const s3Ids: string[] = [];
  for (const key of keys) {
    assert.match(key, /^idp\/2024\/01\/01\/00\/s3-.*\.jsonl\.gz$/, 'time-partitioned key');
    const lines = gunzipSync(await s3.get('audit-archive', key)).toString('utf8').trim().split('\n');
    s3Ids.push(...lines.map((l) => (JSON.parse(l) as { id: string }).id));
  }
  const dupes = [...countIds(s3Ids)].filter(([, n]) => n > 1);
  assert.deepEqual(dupes, [], 'no event in two objects');
  assert.deepEqual([...s3Ids].sort(), expected, 'the bucket holds every event exactly once');
});
