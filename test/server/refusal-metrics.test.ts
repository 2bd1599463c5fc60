import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTenantApp } from '../support/tenant-app.js';

const ADMIN = 'refusal-metrics-admin-key-0123456789';

async function refusals(url: string): Promise<string[]> {
  const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  return metrics.split('\n').filter((l) => l.startsWith('auditstream_http_refused_requests_total{'));
}

test('what the HTTP parser and the router refuse before any route runs (headers too large, bad percent-encoding, an over-long id) is counted in auditstream_http_refused_requests_total', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN });
  const badUrl = await fetch(`${app.url}/v1/events/%E0%A4%A`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(badUrl.status, 400);
  assert.equal((await badUrl.json()).code, 'BAD_URL');
  const longId = await fetch(`${app.url}/v1/events/${'a'.repeat(4_000)}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(longId.status, 414);
  assert.equal((await longId.json()).code, 'URL_TOO_LONG');
  const hugeHeaders = await fetch(`${app.url}/v1/events`, { headers: { authorization: `Bearer ${ADMIN}`, 'x-padding': 'p'.repeat(20_000) } });
  assert.equal(hugeHeaders.status, 431);
  assert.equal((await hugeHeaders.json()).code, 'HEADERS_TOO_LARGE');

  const lines = await refusals(app.url);
  assert.ok(lines.some((l) => /route="unmatched",code="HEADERS_TOO_LARGE"\} 1$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /route="unmatched",code="BAD_URL"\} 1$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /route="unmatched",code="URL_TOO_LONG"\} 1$/.test(l)), lines.join('\n'));
});
