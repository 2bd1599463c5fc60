import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const ADMIN = 'admin-key-for-the-source-tenant-test';
const ACCESS_KEY = 'firehose-access-key-0123456789';

async function call(url: string, method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

test("a collector source's tenant is every one of its events' tenant: only that tenant's keys see them, whatever a record names", async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, {
    dataDir,
    config: {
      server: { apiKeys: [ADMIN] },
      sources: [{ type: 'firehose', name: 'acme-firehose', tenant: 'acme', secureParams: { accessKey: ACCESS_KEY } }],
      audit: { emitters: [{ type: 'audit-store' }] },
    },
  });
  const keys: Record<string, string> = {};
  for (const id of ['acme', 'globex']) {
    assert.equal((await call(server.url, 'POST', '/v1/tenants', ADMIN, { id, name: id })).status, 201);
    keys[id] = (await call(server.url, 'POST', `/v1/tenants/${id}/keys`, ADMIN, { name: 'reader', scopes: ['read'] })).body.key;
  }
  const records = [
    { id: 'plain-1', time: '2026-01-02T03:04:05Z', type: 'login', actor: 'alice' },
    // A record naming another tenant does not move the source's events to it.
    { id: 'claims-globex-1', time: '2026-01-02T03:04:06Z', type: 'login', actor: 'mallory', tenant: 'globex' },
  ];
  const res = await fetch(`${server.url}/v1/firehose/acme-firehose`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': ACCESS_KEY, 'x-amz-firehose-request-id': 'r-1' },
    body: JSON.stringify({ requestId: 'r-1', timestamp: Date.now(), records: records.map((r) => ({ data: Buffer.from(JSON.stringify(r)).toString('base64') })) }),
  });
  assert.equal(res.status, 200, await res.text());

  // ack: buffered answered once the events were journaled; the store has them a moment later.
  await waitFor(async () => (await call(server.url, 'GET', '/v1/events?type=login', ADMIN)).body.events.length === 2, 'both events stored');
  const acme = await call(server.url, 'GET', '/v1/events?type=login', keys.acme!);
  assert.deepEqual(acme.body.events.map((e: { id: string; tenant: string }) => `${e.id}:${e.tenant}`).sort(), ['claims-globex-1:acme', 'plain-1:acme']);
  assert.deepEqual((await call(server.url, 'GET', '/v1/events?type=login', keys.globex!)).body.events, []);
});
