import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { steadyLoad } from '../support/load.js';
import { createPgDatabase } from '../support/pg-database.js';
import { allStoredEvents, emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tcpProxy } from '../support/tcp-proxy.js';
import { blockedDir, tempDir, waitFor } from '../support/temp.js';

const PG = { host: '127.0.0.1', port: 5432 };

test('PostgreSQL down: events wait on disk, the log keeps delivering, all arrive when it is back', async (t) => {
  const dataDir = await tempDir(t);
  const db = new URL((await createPgDatabase(t)).url).pathname.slice(1);
  const proxy = await tcpProxy(t, { host: PG.host, port: PG.port });
  const server = await startServer(t, {
    dataDir,
    config: { audit: { emitters: [{ type: 'log' }, { type: 'audit-store', url: `postgres://postgres@127.0.0.1:${proxy.port}/${db}` }] } },
  });
  const warm = steadyLoad(server.url, { prefix: 'warm', maxBatches: 10 });
  await warm.done;
  await waitFor(async () => (await emitterStatus(server.url))['audit-store']!.depth === 0, 'store caught up before the outage');

  await proxy.down();
  const load = steadyLoad(server.url, { prefix: 'down', batchSize: 100, maxBatches: 200 });
  await load.done;
  assert.equal(load.acked.length, 20_000, `every request acknowledged while PostgreSQL is down: ${JSON.stringify([...load.statuses])}`);
  const status = await waitFor(async () => {
    const s = await emitterStatus(server.url);
    return s['audit-store']!.state !== 'idle' && s.log!.depth === 0 ? s : null;
  }, 'log drained while the store is down');
  assert.ok(status['audit-store']!.depth >= 20_000, 'events wait in the audit-store queue');
  assert.ok(status['audit-store']!.lastError, 'the emitter reports its last error');

  await proxy.up();
  await waitFor(async () => (await emitterStatus(server.url))['audit-store']!.depth === 0, 'store caught up after the outage', 90_000);
  const ids = new Set((await allStoredEvents(server.url)).map((e) => e.id));
  for (const id of [...warm.acked, ...load.acked]) assert.ok(ids.has(id), `${id} reached PostgreSQL`);
  const logText = readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8');
  assert.equal(logText.trim().split('\n').length, warm.acked.length + load.acked.length, 'the log delivered throughout');
});

test('an unwritable log path keeps events queued; they arrive once the path is fixed, the store is unaffected', async (t) => {
  const dataDir = await tempDir(t);
  // A regular file where the log directory should be: ENOTDIR even for root, who ignores mode bits.
  const blocked = blockedDir(dataDir);
  const server = await startServer(t, { dataDir, config: { audit: { emitters: [{ type: 'log', file: join(blocked, 'audit.log') }, { type: 'audit-store' }] } } });
  const res = await postEvents(server.url, Array.from({ length: 50 }, (_, i) => ({ id: `u-${i}`, type: 'login', time: '2024-01-01T00:00:00Z' })));
  assert.equal(res.status, 202);
  const s = await waitFor(async () => {
    const st = await emitterStatus(server.url);
    return st.log!.lastError && st['audit-store']!.depth === 0 ? st : null;
  }, 'log failing while the store delivers');
  assert.equal(s.log!.depth, 50);
  assert.match(s.log!.lastError!.message, /blocked/);
  rmSync(blocked);
  mkdirSync(blocked);
  await waitFor(() => existsSync(join(blocked, 'audit.log')) && readFileSync(join(blocked, 'audit.log'), 'utf8').trim().split('\n').length === 50, 'all 50 in the log after the fix', 90_000);
});

test('whenFull: block answers 429 with Retry-After, and accepts again once the queue drains', async (t) => {
  const dataDir = await tempDir(t);
  const db = new URL((await createPgDatabase(t)).url).pathname.slice(1);
  const proxy = await tcpProxy(t, { host: PG.host, port: PG.port });
  await proxy.down();
  const server = await startServer(t, {
    dataDir,
    config: {
      // A small queue must still hold one event of the largest size ingest accepts.
      server: { limits: { maxEventBytes: '16KiB' } },
      audit: {
        emitters: [{ type: 'audit-store', url: `postgres://postgres@127.0.0.1:${proxy.port}/${db}`, queue: { maxBytes: '64KiB', whenFull: 'block' }, retry: { initialBackoffMs: 50, maxBackoffMs: 500 } }],
      },
    },
  });
  const batch = (n: number) => Array.from({ length: 20 }, (_, i) => ({ id: `f-${n}-${i}`, type: 'login', time: '2024-01-01T00:00:00Z', message: 'x'.repeat(200) }));
  let n = 0;
  let res = await postEvents(server.url, batch(n++));
  const accepted: number[] = [];
  while (res.status === 202 && n < 200) {
    accepted.push(n - 1);
    res = await postEvents(server.url, batch(n++));
  }
  assert.equal(res.status, 429, `expected the queue to fill: ${JSON.stringify(res.body)}`);
  assert.ok(Number(res.headers.get('retry-after')) >= 1);
  assert.match(res.body.error, /queue full/);
  assert.ok(accepted.length > 2);

  await proxy.up();
  await waitFor(async () => (await postEvents(server.url, batch(999))).status === 202, 'accepting again after the queue drained', 60_000);
  await waitFor(async () => (await emitterStatus(server.url))['audit-store']!.depth === 0, 'drained');
  const ids = new Set((await allStoredEvents(server.url)).map((e) => e.id));
  for (const k of accepted) for (let i = 0; i < 20; i++) assert.ok(ids.has(`f-${k}-${i}`));
  assert.ok(!ids.has(`f-${n - 1}-0`), 'the refused batch was not kept');
});
