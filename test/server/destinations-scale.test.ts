import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { newExternalId } from '../../src/tenants/external-id.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { tempDir, waitFor } from '../support/temp.js';

const ADMIN = 'destinations-scale-admin-key-0123456789';
/**
 * 1,000 destinations (500 tenants) with AUDITSTREAM_SCALE_TENANTS=500: 47.5 s to create on the shared 2-core
 * machine under load, too long for the suite's 300 s per-file limit there; the suite runs 100 tenants.
 */
const TENANTS = Number(process.env.AUDITSTREAM_SCALE_TENANTS ?? 100);
const PER_TENANT = 2;
/** One admin key creates every destination, as an operator's bulk import would: its call rate is not under test. */
const MANAGE_UNLIMITED = { perSecond: 1e6, burst: 1e6 };

test(`${TENANTS * PER_TENANT} destinations created through the API on one server; each receives exactly its own tenant's events`, async (t) => {
  const dataDir = await tempDir(t);
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }));
  const config = parseConfig(
    configSchema,
    { dataDir, server: { listen: '127.0.0.1:0', apiKeys: [ADMIN] }, audit: { emitters: [{ type: 'log', name: 'global', file: join(dataDir, 'global.log') }] }, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] }, manageRateLimit: MANAGE_UNLIMITED } },
    '',
  );
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  t.after(() => pipeline.stop(2000));
  const app = buildApp({ config, pipeline, search: pipeline.search, logger: pino({ level: 'silent' }) });
  t.after(() => app.close());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const tenants = Array.from({ length: TENANTS }, (_, i) => `t${i}`);
  const now = new Date().toISOString();
  for (const id of tenants) {
    const tenant = { id, name: id, externalId: newExternalId(), quotas: config.tenants.defaultQuotas, createdAt: now, updatedAt: now };
    await pipeline.tenancy.store.createTenant(tenant);
    pipeline.tenancy.tenants.set(tenant);
  }

  const started = process.hrtime.bigint();
  for (const id of tenants) {
    for (let d = 0; d < PER_TENANT; d++) {
      const res = await fetch(`${url}/v1/tenants/${id}/destinations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        // Only the tenant's own events: its change events would make the count depend on timing.
        body: JSON.stringify({ name: `d${d}`, type: 'http', url: `${receiver.url}/${id}/d${d}`, exclude: ['auditstream.*'], batch: { lingerMs: 0 } }),
      });
      assert.equal(res.status, 201, await res.text());
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.diagnostic(`created ${TENANTS * PER_TENANT} destinations (Test & Add each) in ${seconds.toFixed(1)} s: ${((TENANTS * PER_TENANT) / seconds).toFixed(0)}/s; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);

  // Three events per tenant, of random tenants in random order, in batches that mix tenants.
  const events: AuditEvent[] = tenants.flatMap((id) => [0, 1, 2].map((k) => ({ id: `${id}-e${k}`, time: now, type: 'login', source: 'generic', outcome: 'success' as const, tenant: id, details: {}, raw: '{}' })));
  events.sort(() => Math.random() - 0.5);
  for (let i = 0; i < events.length; i += 100) assert.equal((await pipeline.router.publish(events.slice(i, i + 100))).ok, true);
  const expected = events.length * PER_TENANT;
  await waitFor(() => receiver.requests.reduce((n, r) => n + (JSON.parse(r.text) as unknown[]).length, 0) >= expected, `${expected} deliveries`, 120_000);
  const got = new Map<string, string[]>();
  for (const r of receiver.requests) {
    const list = got.get(r.path) ?? [];
    list.push(...(JSON.parse(r.text) as AuditEvent[]).map((e) => e.id));
    got.set(r.path, list);
  }
  assert.equal(got.size, TENANTS * PER_TENANT);
  for (const id of tenants) for (let d = 0; d < PER_TENANT; d++) assert.deepEqual(got.get(`/${id}/d${d}`)?.sort(), [`${id}-e0`, `${id}-e1`, `${id}-e2`], `/${id}/d${d}`);
});
