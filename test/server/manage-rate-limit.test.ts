import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTenantApp } from '../support/tenant-app.js';
import { waitFor } from '../support/temp.js';

const ADMIN = 'manage-limit-admin-key-0123456789';
const BURST = 3;
/** Slow enough that no token comes back while the test runs: every 429 below is the burst spent, not a race. */
const PER_SECOND = 0.01;

async function call(url: string, key: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), retryAfter: res.headers.get('retry-after') };
}

const newKey = (url: string, as: string, tenant: string) => call(url, as, 'POST', `/v1/tenants/${tenant}/keys`, { name: 'console', scopes: ['read'] });

test('tenants.manageRateLimit: a burst of changes, then 429 MANAGE_RATE_LIMITED with Retry-After, for every key of the tenant; reads and ingest go on', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { manageRateLimit: { perSecond: PER_SECOND, burst: BURST } } });
  await app.addTenant('acme');
  const console1 = await app.addKey('acme', ['manage', 'read']);
  const console2 = await app.addKey('acme', ['manage']);
  const producer = await app.addKey('acme', ['ingest']);

  for (let i = 0; i < BURST; i++) assert.equal((await newKey(app.url, console1, 'acme')).status, 201, `change ${i + 1} of the burst`);
  const over = await newKey(app.url, console1, 'acme');
  assert.equal(over.status, 429, JSON.stringify(over.body));
  assert.equal(over.body.code, 'MANAGE_RATE_LIMITED');
  assert.match(over.body.error, /tenant "acme".*tenants\.manageRateLimit/);
  // Seconds until one token is back at 0.01/s: at most 100, a whole number, at least 1.
  assert.match(over.retryAfter ?? '', /^\d+$/);
  assert.ok(Number(over.retryAfter) >= 1 && Number(over.retryAfter) <= 1 / PER_SECOND, `Retry-After: ${over.retryAfter}`);

  // The bucket is the tenant's, not the key's: another key of acme is refused too, on every kind of change.
  assert.equal((await newKey(app.url, console2, 'acme')).status, 429);
  const keys = await call(app.url, console1, 'GET', '/v1/tenants/acme/keys');
  assert.equal(keys.status, 200, 'reads are not limited');
  assert.equal(keys.body.keys.length, 3 + BURST, 'the refused calls created nothing');
  const made = keys.body.keys.find((k: { name: string }) => k.name === 'console');
  assert.equal((await call(app.url, console1, 'DELETE', `/v1/tenants/acme/keys/${made.id}`)).status, 429);
  assert.equal((await call(app.url, console1, 'POST', '/v1/tenants/acme/destinations/none/pause')).status, 429);
  assert.equal((await call(app.url, console1, 'GET', '/v1/tenants/acme/destinations')).status, 200);
  // Ingest has its own bound (the tenant's ingest quota), not this one.
  const sent = await call(app.url, producer, 'POST', '/v1/events', [{ id: 'a1', type: 'login', time: '2024-05-01T00:00:00Z', actor: 'alice' }]);
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  // A call the key check refuses spends nothing and is answered as before.
  const unknownKey = await call(app.url, 'ask_000000000000_nope', 'POST', '/v1/tenants/acme/keys', { name: 'x', scopes: ['read'] });
  assert.equal(unknownKey.status, 401);

  // The operator sees the refusals in /metrics, by the route matched and the code answered.
  const metrics = await (await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  const refused = (route: string, code: string) => new RegExp(`^auditstream_http_refused_requests_total\\{route="${route.replace(/[/:]/g, '\\$&')}",code="${code}"\\} (\\d+)$`, 'm').exec(metrics)?.[1];
  assert.equal(refused('/v1/tenants/:tenant/keys', 'MANAGE_RATE_LIMITED'), '2', metrics.split('\n').filter((l) => l.includes('refused')).join('\n'));
  assert.equal(refused('/v1/tenants/:tenant/keys/:id', 'MANAGE_RATE_LIMITED'), '1');
  assert.equal(refused('/v1/tenants/:tenant/keys', unknownKey.body.code), '1');
});

test('tenants.manageRateLimit: another tenant and the admin key each have their own bucket', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { manageRateLimit: { perSecond: PER_SECOND, burst: BURST } } });
  await app.addTenant('acme');
  await app.addTenant('globex');
  const acme = await app.addKey('acme', ['manage']);
  const globex = await app.addKey('globex', ['manage']);

  for (let i = 0; i < BURST; i++) assert.equal((await newKey(app.url, acme, 'acme')).status, 201);
  assert.equal((await newKey(app.url, acme, 'acme')).status, 429);
  assert.equal((await newKey(app.url, globex, 'globex')).status, 201, "acme's spent bucket is not globex's");

  // The admin key, acting on acme itself, spends its own bucket, not acme's.
  for (let i = 0; i < BURST; i++) assert.equal((await newKey(app.url, ADMIN, 'acme')).status, 201, `admin change ${i + 1}`);
  const adminOver = await call(app.url, ADMIN, 'PATCH', '/v1/tenants/globex', { name: 'Globex' });
  assert.equal(adminOver.status, 429);
  assert.equal(adminOver.body.code, 'MANAGE_RATE_LIMITED');
  assert.match(adminOver.body.error, /this admin key/);
  assert.ok(Number(adminOver.retryAfter) >= 1);
  assert.equal((await call(app.url, ADMIN, 'GET', '/v1/tenants')).status, 200, 'admin reads are not limited');
  assert.equal((await newKey(app.url, globex, 'globex')).status, 201, "the admin's spent bucket is not globex's");
});

test('tenants.manageRateLimit: the bucket refills at perSecond, one change at a time', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { manageRateLimit: { perSecond: 1, burst: 1 } } });
  await app.addTenant('acme');
  const key = await app.addKey('acme', ['manage']);
  assert.equal((await newKey(app.url, key, 'acme')).status, 201);
  const over = await newKey(app.url, key, 'acme');
  assert.equal(over.status, 429);
  assert.equal(over.retryAfter, '1', 'one token a second');
  // A token comes back within a second (slow enough that a loaded machine's round trip does not refill it);
  // the bucket holds one, so the next change after it is refused again.
  await waitFor(async () => (await newKey(app.url, key, 'acme')).status === 201, 'a refilled token');
  assert.equal((await newKey(app.url, key, 'acme')).status, 429);
});

test('tenants.manageRateLimit: a tenant deleted and made again under its id starts with a full bucket', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { manageRateLimit: { perSecond: PER_SECOND, burst: BURST } } });
  await app.addTenant('acme');
  const old = await app.addKey('acme', ['manage']);
  for (let i = 0; i < BURST; i++) assert.equal((await newKey(app.url, old, 'acme')).status, 201);
  assert.equal((await newKey(app.url, old, 'acme')).status, 429);
  assert.equal((await call(app.url, ADMIN, 'DELETE', '/v1/tenants/acme')).status, 204);
  await app.addTenant('acme');
  const again = await app.addKey('acme', ['manage']);
  assert.equal((await newKey(app.url, again, 'acme')).status, 201, "the new acme does not inherit the deleted one's spent bucket");
});
