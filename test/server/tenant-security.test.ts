import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttpReceiver } from '../support/http-receiver.js';
import { startTenantApp } from '../support/tenant-app.js';
import { waitFor } from '../support/temp.js';

const ADMIN = 'tenant-security-test-admin-key-0123456789';

async function call(base: string, key: string | undefined, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, body: (text.startsWith('{') ? JSON.parse(text) : undefined) as Record<string, any> };
}

test('an unauthenticated /metrics names no tenant nor destination; an admin key sees their series', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] } } });
  await app.addTenant('acme');
  const acme = await app.addKey('acme', ['manage', 'ingest']);
  const rx = await startHttpReceiver(t, () => ({ status: 200 }));
  const added = await call(app.url, acme, 'POST', '/v1/tenants/acme/destinations', { name: 'splunk-prod', type: 'http', url: `${rx.url}/hook` });
  assert.equal(added.status, 201, added.text);
  assert.equal((await call(app.url, acme, 'POST', '/v1/events', [{ id: 'e1', type: 'login', time: '2024-01-01T00:00:00Z' }])).status, 202);
  await waitFor(() => rx.requests.length > 0, 'the destination to receive the event');

  const admin = await call(app.url, ADMIN, 'GET', '/metrics');
  assert.match(admin.text, /auditstream_component_sent_events_total\{component_kind="sink",component_id="acme\/splunk-prod",component_type="http"\} [1-9]/);
  for (const key of [undefined, acme, 'not-a-valid-admin-key-0123456789']) {
    const anyone = await call(app.url, key, 'GET', '/metrics');
    assert.equal(anyone.status, 200);
    assert.doesNotMatch(anyone.text, /acme|splunk-prod/);
    // The operator's own components stay public, as scrapers expect.
    assert.match(anyone.text, /component_id="audit-store"|component_id="log"/);
  }
});
