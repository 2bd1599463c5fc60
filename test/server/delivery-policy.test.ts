import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { emitterStatus } from '../support/search.js';
import { postEvents, startServer } from '../support/server-process.js';
import { blockedDir, tempDir, waitFor } from '../support/temp.js';

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

test("Blitz's example include/exclude: admin events go to admins-log only, the rest to users-log; the store gets all", async (t) => {
  const dataDir = await tempDir(t);
  const admin = ['admin_added', 'admin_pswd_changed', 'admin_removed', 'admin_roles_changed', 'config_changed'];
  const server = await startServer(t, {
    dataDir,
    config: {
      audit: {
        emitters: [
          { type: 'log', name: 'users-log', enabled: true, logger: 'AUDIT', exclude: admin },
          { type: 'log', name: 'admins-log', enabled: true, logger: 'AUDITADMIN', include: admin },
          { type: 'audit-store', enabled: true },
        ],
        emitAtLeastOneOf: ['users-log', 'admins-log'],
        emitToAllOf: ['audit-store'],
        emitTimeoutInSec: 30,
      },
    },
  });
  const events = [
    { id: 'p1', type: 'login', timestamp: 1700476187069, subject_id: 'BIP-1' },
    { id: 'p2', type: 'admin_added', timestamp: 1700476187070, subject_id: 'BIP-2' },
    { id: 'p3', type: 'config_changed', timestamp: 1700476187071, subject_id: 'BIP-2', module: 'ldap' },
  ];
  const res = await postEvents(server.url, events);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  await waitFor(() => lines(join(dataDir, 'logs', 'auditadmin.log')).length === 2 && lines(join(dataDir, 'logs', 'audit.log')).length === 1, 'both logs written');
  assert.deepEqual(lines(join(dataDir, 'logs', 'audit.log')).map((e) => e.id), ['p1']);
  assert.deepEqual(lines(join(dataDir, 'logs', 'auditadmin.log')).map((e) => e.id), ['p2', 'p3']);
});

test('ack: delivered waits for the destinations; a best-effort emitter that is down does not fail the producer', async (t) => {
  const dataDir = await tempDir(t);
  const blocked = blockedDir(dataDir);
  const server = await startServer(t, {
    dataDir,
    config: {
      audit: {
        ack: 'delivered',
        emitters: [{ type: 'log', name: 'slow-log', file: join(blocked, 'a.log') }, { type: 'audit-store' }],
        emitToAllOf: ['audit-store'],
        emitTimeoutInSec: 5,
      },
    },
  });
  const res = await postEvents(server.url, { id: 'd1', type: 'login', time: '2024-01-01T00:00:00Z' });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  // Delivered means already in the store when the 202 arrives.
  const found = await fetch(`${server.url}/v1/events/d1`);
  assert.equal(found.status, 200);
  assert.equal((await emitterStatus(server.url))['slow-log']!.depth, 1, 'the best-effort emitter still holds the event');
});

test('ack: delivered answers 503 naming the emitter when a required destination does not confirm in time; the event is still delivered later', async (t) => {
  const dataDir = await tempDir(t);
  const blocked = blockedDir(dataDir);
  const server = await startServer(t, {
    dataDir,
    config: {
      audit: {
        ack: 'delivered',
        emitters: [{ type: 'log', name: 'required-log', file: join(blocked, 'a.log'), retry: { initialBackoffMs: 50, maxBackoffMs: 200 } }, { type: 'audit-store' }],
        // Only the broken emitter is required: a healthy one that is merely slow on a loaded machine must not make the answer vary.
        emitToAllOf: ['required-log'],
        emitTimeoutInSec: 1,
      },
    },
  });
  const res = await postEvents(server.url, { id: 'late-1', type: 'login', time: '2024-01-01T00:00:00Z' });
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.equal(res.body.code, 'DELIVERY_FAILED');
  assert.deepEqual(res.body.failed.map((f: { emitter: string }) => f.emitter), ['required-log']);
  assert.match(res.body.failed[0].reason, /not delivered within emitTimeoutInSec/);
  rmSync(blocked);
  mkdirSync(blocked);
  await waitFor(() => lines(join(blocked, 'a.log')).some((e) => e.id === 'late-1'), 'delivered once the path works');
});
