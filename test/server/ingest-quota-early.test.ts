import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openRaw, parseResponse, withDeadline } from '../support/raw-http.js';
import { startTenantApp } from '../support/tenant-app.js';
import { waitFor } from '../support/temp.js';

const ADMIN = 'ingest-early-admin-key-0123456789';

/** A 150 KB JSON array of events of `tenant`. */
function bigBody(): Buffer {
  const events = Array.from({ length: 600 }, (_, i) => ({ id: `big-${i}`, type: 'login', time: '2024-05-01T00:00:00Z', actor: 'alice', details: { pad: 'x'.repeat(180) } }));
  return Buffer.from(JSON.stringify(events));
}

/** A counter of the http source, summed over its series: `name{…component_id="http"…[extra]} value`. */
async function httpCounter(url: string, name: string, extra = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`auditstream_${name}{`) && line.includes('component_id="http"') && line.includes(extra)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The first whole response on the connection, once it has arrived. */
async function firstResponse(received: () => string) {
  return waitFor(() => {
    try {
        const r = parseResponse(received());
        return r.headers['content-length'] !== undefined && Buffer.byteLength(r.body, 'latin1') >= Number(r.headers['content-length']) ? r : undefined;
      } catch {
        return undefined;
      }
    }, 'an answer sent before the body was complete');
  }

  test('a tenant whose ingest quota is spent is refused 429 before its body is read: answered mid-body, nothing parsed, the connection kept', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { defaultQuotas: { ingestEventsPerSec: 0.001, ingestBurst: 2 } } });
  await app.addTenant('flood');
  await app.addTenant('calm');
  const flood = await app.addKey('flood', ['ingest']);
  const calm = await app.addKey('calm', ['ingest']);
  const two = (prefix: string) => JSON.stringify([0, 1].map((i) => ({ id: `${prefix}${i}`, type: 'login', time: '2024-05-01T00:00:00Z', actor: 'alice' })));
  const post = (key: string, body: string, query = '') =>
    withDeadline(fetch(`${app.url}/v1/events${query}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body }), 20_000, 'an answer');
  assert.equal((await post(flood, two('f'))).status, 202, 'the burst of 2 is spent');

  const receivedBefore = await httpCounter(app.url, 'component_received_bytes_total');
  const refusedBefore = await httpCounter(app.url, 'component_errors_total', 'error_type="tenant_quota_exceeded"');
  const body = bigBody();
  assert.ok(body.length > 150_000);
  const conn = await openRaw(app.url);
  try {
    // Half the body only: a server that reads bodies before refusing waits here for the rest, and never answers.
    conn.socket.write(`POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${flood}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    conn.socket.write(body.subarray(0, body.length / 2));
    const refused = await firstResponse(conn.received);
    assert.equal(refused.status, 429);
    assert.equal(refused.json.code, 'TENANT_QUOTA_EXCEEDED');
    assert.deepEqual({ tenant: refused.json.tenant, quota: refused.json.quota }, { tenant: 'flood', quota: 'ingestEventsPerSec' });
    assert.ok(Number(refused.headers['retry-after']) >= 1, `Retry-After: ${refused.headers['retry-after']}`);
    assert.notEqual(refused.headers.connection, 'close', 'the connection is kept');

    // The rest of the body is discarded as it arrives; the next request on the same connection is answered.
    const answered = conn.received().length;
    conn.socket.write(body.subarray(body.length / 2));
    conn.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await firstResponse(() => conn.received().slice(answered))).status, 200);
  } finally {
    // A server still waiting for the rest of the body would otherwise hold up closing the test's app.
    conn.socket.destroy();
  }
  assert.equal(await httpCounter(app.url, 'component_received_bytes_total'), receivedBefore, 'the refused body was never handed to the source');
  assert.equal(await httpCounter(app.url, 'component_errors_total', 'error_type="tenant_quota_exceeded"'), refusedBefore + 1, 'the refusal is counted as any other');

  // An admin key naming the tenant with ?tenant= is refused before the body too; another tenant is not touched.
  assert.equal((await post(ADMIN, body.toString(), '?tenant=flood')).status, 429);
  assert.equal((await post(calm, two('c'))).status, 202);
  assert.equal(await httpCounter(app.url, 'component_received_bytes_total'), receivedBefore + Buffer.byteLength(two('c')), "only calm's body was read");
});
