import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttpReceiver } from '../support/http-receiver.js';
import { startTenantApp } from '../support/tenant-app.js';

const ADMIN = 'destination-errors-test-admin-key-0123456789';

test("a destination whose shared emitter keys (include, queue, retry, batch) have the wrong shape is refused naming each key, not as a nameless 'not a valid destination'", async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] } } });
  await app.addTenant('acme');
  const rx = await startHttpReceiver(t, () => ({ status: 200 }));
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${app.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { code: string; error: string; problems: { key: string; error: string }[] } };
  };
  const hook = { name: 'hook', type: 'http', url: `${rx.url}/in` };

  const created = await call('POST', '/v1/tenants/acme/destinations', { ...hook, include: 'login', queue: 5, retry: { maxBackoffMs: 'soon' }, batch: [] });
  assert.equal(created.status, 400, JSON.stringify(created.body));
  assert.equal(created.body.code, 'DESTINATION_INVALID');
  assert.deepEqual(created.body.problems.map((p) => p.key).sort(), ['batch', 'include', 'queue', 'retry.maxBackoffMs']);
  assert.match(created.body.error, /include: /);
  // With a sink key wrong as well, both kinds are named in one answer.
  const both = await call('POST', '/v1/tenants/acme/destinations', { ...hook, queue: { whenFull: 'never' }, timeoutMs: 'x' });
  assert.deepEqual(both.body.problems.map((p) => p.key).sort(), ['queue.whenFull', 'timeoutMs']);

  assert.equal((await call('POST', '/v1/tenants/acme/destinations', hook)).status, 201);
  const patched = await call('PATCH', '/v1/tenants/acme/destinations/hook', { exclude: { type: 'logout' } });
  assert.equal(patched.status, 400, JSON.stringify(patched.body));
  assert.deepEqual(patched.body.problems.map((p) => p.key), ['exclude']);
});
