import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { blockedDir, tempDir, waitFor } from '../support/temp.js';

// A database that does not exist: PostgreSQL answers 3D000, which no retry fixes, so the emitter is `failing`.
const MISSING_DB = 'postgres://postgres@127.0.0.1:5432/auditstream_probe_no_such_database';

async function probe(url: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: await res.json() };
}

const event = (id: string) => ({ id, type: 'login', time: '2024-01-01T00:00:00Z', message: 'x'.repeat(200) });

test('/livez and /readyz answer 200 on a healthy server', async (t) => {
  const server = await startServer(t, { dataDir: await tempDir(t) });
  assert.deepEqual(await probe(server.url, '/livez'), { status: 200, body: { status: 'ok' } });
  assert.deepEqual(await probe(server.url, '/readyz'), { status: 200, body: { status: 'ready', reasons: [] } });
});

test('/readyz is 503 naming a required emitter that is failing, without its error; /livez stays 200', async (t) => {
  const server = await startServer(t, {
    dataDir: await tempDir(t),
    config: { audit: { emitters: [{ type: 'log' }, { type: 'audit-store', url: MISSING_DB }] } },
  });
  assert.equal((await postEvents(server.url, event('f1'))).status, 202, 'buffered: the event is queued');
  const notReady = await waitFor(async () => {
    const r = await probe(server.url, '/readyz');
    return r.status === 503 ? r : null;
  }, '/readyz 503 once the audit store fails');
  assert.equal(notReady.body.status, 'not ready');
  assert.equal(notReady.body.code, 'NOT_READY');
  assert.equal(notReady.body.reasons.length, 1, JSON.stringify(notReady.body));
  assert.equal(notReady.body.reasons[0], 'emitter "audit-store" is failing (its error: GET /v1/emitters)');
  // /readyz needs no key: the error, which names the database (and could name hosts or paths), is only in /v1/emitters.
  assert.doesNotMatch(JSON.stringify(notReady.body), /auditstream_probe_no_such_database|127\.0\.0\.1|5432|3D000/);
  const store = (await emitterStatus(server.url))['audit-store']!;
  assert.equal(store.state, 'failing');
  assert.match(store.lastError?.message ?? '', /auditstream_probe_no_such_database/, 'the authenticated view keeps the details');
  assert.equal((await probe(server.url, '/livez')).status, 200, 'the process is alive: restarting it would not help');
});

test('/readyz ignores a failing emitter the delivery policy does not require', async (t) => {
  const server = await startServer(t, {
    dataDir: await tempDir(t),
    config: { audit: { emitters: [{ type: 'log' }, { type: 'audit-store', url: MISSING_DB }], emitToAllOf: ['log'] } },
  });
  assert.equal((await postEvents(server.url, event('b1'))).status, 202);
  await waitFor(async () => (await emitterStatus(server.url))['audit-store']!.state === 'failing', 'the best-effort store fails');
  assert.deepEqual(await probe(server.url, '/readyz'), { status: 200, body: { status: 'ready', reasons: [] } });
});

test('/readyz is 503 while a required queue is full, and 200 again once it drains', async (t) => {
  const dataDir = await tempDir(t);
  // A regular file where the log directory should be: the log retries (state retrying, not failing) and its queue fills.
  const blocked = blockedDir(dataDir);
  const server = await startServer(t, {
    dataDir,
    config: {
      server: { limits: { maxEventBytes: 1000 } },
      audit: { emitters: [{ type: 'log', file: join(blocked, 'audit.log'), queue: { maxBytes: 8000 }, retry: { initialBackoffMs: 50, maxBackoffMs: 200 } }] },
    },
  });
  let n = 0;
  const notReady = await waitFor(async () => {
    assert.equal((await postEvents(server.url, event(`q${n++}`))).status, 202, 'still accepted: readiness turns before the queue refuses');
    const r = await probe(server.url, '/readyz');
    return r.status === 503 ? r : null;
  }, '/readyz 503 as the queue fills');
  assert.deepEqual(notReady.body.reasons.length, 1, JSON.stringify(notReady.body));
  assert.match(notReady.body.reasons[0], /^emitter "log": queue full \(\d+ of 8000 bytes/);
  assert.equal((await emitterStatus(server.url)).log!.state, 'retrying', 'full, not failing');

  rmSync(blocked);
  mkdirSync(blocked);
  await waitFor(async () => (await probe(server.url, '/readyz')).status === 200, '/readyz 200 once the log drained the queue');
});

test('while stopping, /readyz and /healthz answer 503 in their own shape, ingest 503 {error, code}, /livez 200', async (t) => {
  const dataDir = await tempDir(t);
  const config = parseConfig(configSchema, { dataDir, server: { listen: '127.0.0.1:0' } }, '');
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  t.after(() => pipeline.stop(1000));
  const app = buildApp({ config, pipeline, search: pipeline.search, logger: pino({ level: 'silent' }) });
  const answers: Record<string, { status: number; body: any }> = {};
  // Runs after the app's own preClose hook, while the server still listens: what a probe sees once shutdown began.
  app.addHook('preClose', async () => {
    for (const path of ['/readyz', '/healthz', '/livez']) answers[path] = await probe(url, path);
    const ingest = await postEvents(url, event('late'), { connection: 'close' });
    answers.ingest = { status: ingest.status, body: ingest.body };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  assert.equal((await probe(url, '/readyz')).status, 200);
  await app.close();

  assert.deepEqual(answers['/readyz'], {
    status: 503,
    body: { error: 'not ready: stopping: the server is shutting down', code: 'NOT_READY', status: 'not ready', reasons: ['stopping: the server is shutting down'] },
  });
  assert.equal(answers['/healthz']!.status, 503);
  assert.equal(answers['/healthz']!.body.status, 'stopping');
  assert.equal(answers['/healthz']!.body.code, 'STOPPING');
  assert.deepEqual(answers['/livez'], { status: 200, body: { status: 'ok' } });
  assert.equal(answers.ingest!.status, 503);
  assert.equal(answers.ingest!.body.code, 'STOPPING', JSON.stringify(answers.ingest!.body));
  assert.match(answers.ingest!.body.error, /shutting down/);
});
