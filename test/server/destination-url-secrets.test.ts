import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { newApiKey } from '../../src/tenants/api-key-secret.js';
import { newExternalId } from '../../src/tenants/external-id.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { EMULATOR_CREDENTIALS, startKinesalite } from '../support/kinesis-emulators.js';
import { createPgDatabase, queryPg } from '../support/pg-database.js';
import { tempDir, waitFor } from '../support/temp.js';

const ADMIN = 'url-secrets-test-admin-key-0123456789';
const TOKEN = 'xoxb-webhook-token-7c1d2e';
const SIG = 'sig-9f8e7d6c';
const FRAGMENT = 'frag-secret-55aa';
const SECRETS = [TOKEN, SIG, FRAGMENT];

/** The real pipeline and app, with the control store `controlStore` names, listening on loopback. */
async function start(t: TestContext, dataDir: string, controlStore: unknown) {
  const config = parseConfig(
    configSchema,
    {
      dataDir,
      server: { listen: '127.0.0.1:0', apiKeys: [ADMIN] },
      audit: { emitters: [{ type: 'audit-store' }] },
      tenants: { controlStore, destinationPolicy: { allowNetworks: ['127.0.0.1/32'] } },
    },
    '',
  );
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  const app = buildApp({ config, pipeline, search: pipeline.search, logger: pino({ level: 'silent' }) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await pipeline.stop(2000);
  });
  const now = new Date().toISOString();
  const tenant = { id: 'acme', name: 'acme', externalId: newExternalId(), quotas: config.tenants.defaultQuotas, createdAt: now, updatedAt: now };
  await pipeline.tenancy.store.createTenant(tenant);
  pipeline.tenancy.tenants.set(tenant);
  const k = newApiKey();
  const record = { id: k.id, tenant: 'acme', name: 'manager', scopes: ['read' as const, 'manage' as const], secretHash: k.secretHash, createdAt: now };
  await pipeline.tenancy.store.createKey(record);
  pipeline.tenancy.keys.add(record);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${k.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
  };
  return { pipeline, call };
}

const event = (id: string): AuditEvent => ({ id, time: '2024-01-01T00:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', details: {}, raw: '{}', tenant: 'acme' });

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Each control store, and its row as the database itself holds it (SQLite's file is read whole at the end of the test). */
const stores: [string, (t: TestContext) => Promise<{ controlStore: unknown; storedRow?: () => Promise<string> }>][] = [
  ['SQLite', async () => ({ controlStore: 'embedded' })],
  [
    'PostgreSQL',
    async (t) => {
      const db = await createPgDatabase(t);
      return {
        controlStore: { postgres: { connectionString: db.url } },
        storedRow: async () => JSON.stringify((await queryPg(db.url, "SELECT config FROM destinations WHERE tenant = 'acme' AND name = 'hook'"))[0]?.config),
      };
    },
  ],
];

for (const [storeName, open] of stores) {
  test(`a webhook URL's query values and fragment never show in answers, change events or the ${storeName} control store, and reach the receiver`, async (t) => {
    const dataDir = await tempDir(t);
    const store = await open(t);
    const { pipeline, call } = await start(t, dataDir, store.controlStore);
    const rx = await startHttpReceiver(t, () => ({ status: 200 }));
    const hookUrl = `${rx.url}/in?token=${TOKEN}&sig=${SIG}&channel=audit#${FRAGMENT}`;
    const shown = `${rx.url}/in?token=********&sig=********&channel=********#********`;
    const noSecret = (what: string, text: string) => {
      for (const s of SECRETS) assert.ok(!text.includes(s), `${what} holds ${s}: ${text.slice(0, 400)}`);
    };

    const created = await call('POST', '/v1/tenants/acme/destinations', { name: 'hook', type: 'http', url: hookUrl, batch: { lingerMs: 0 } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.destination.config.url, shown, 'names, host, port and path stay visible');
    noSecret('the create answer', created.text);
    const read = await call('GET', '/v1/tenants/acme/destinations/hook');
    assert.equal(read.body.config.url, shown);
    noSecret('GET', read.text);
    noSecret('the list', (await call('GET', '/v1/tenants/acme/destinations')).text);

    // Delivery uses the real URL: the receiver gets the token in the query it was given.
    assert.equal((await pipeline.router.publish([event('e1')])).ok, true);
    const first = await waitFor(() => rx.requests.find((r) => r.text.includes('"e1"')), 'e1 at the receiver');
    assert.equal(first.path, `/in?token=${TOKEN}&sig=${SIG}&channel=audit`);

    // Sealed at rest: read with the store itself, and straight from the PostgreSQL table (SQLite's file: below).
    const row = await pipeline.tenancy.store.listDestinations('acme');
    assert.equal(row.length, 1);
    noSecret('the control store row', JSON.stringify(row[0]!.config));
    assert.match(String(row[0]!.config.url), /^http:\/\/127\.0\.0\.1:\d+\/in\?token=enc%3Av1%3A/);
    if (store.storedRow) noSecret('the row in the database', await store.storedRow());

    // PATCH sending back what was read keeps every value; the receiver still gets the token.
    const kept = await call('PATCH', '/v1/tenants/acme/destinations/hook', { url: shown, include: ['login', 'auditstream.destination.updated'] });
    assert.equal(kept.status, 200, kept.text);
    assert.equal(kept.body.destination.config.url, shown);
    noSecret('the PATCH answer', kept.text);
    assert.equal((await pipeline.router.publish([event('e2')])).ok, true);
    const second = await waitFor(() => rx.requests.find((r) => r.text.includes('"e2"')), 'e2 at the receiver');
    assert.equal(second.path, `/in?token=${TOKEN}&sig=${SIG}&channel=audit`);

    // A placeholder for another endpoint, or for a parameter that was never stored, is refused naming url; nothing changes.
    for (const url of [shown.replace('/in?', '/elsewhere?'), shown.replace(/:(\d+)\//, (_, p: string) => `:${Number(p) + 1}/`), shown.replace('#', `&extra=********#`)]) {
      const refused = await call('PATCH', '/v1/tenants/acme/destinations/hook', { url });
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.body.code, 'DESTINATION_INVALID');
      assert.match(refused.body.error, /^url: /);
      assert.deepEqual(refused.body.problems.map((p: { key: string }) => p.key), ['url']);
      noSecret('the refusal', refused.text);
    }
    assert.equal((await pipeline.router.publish([event('e3')])).ok, true);
    assert.equal((await waitFor(() => rx.requests.find((r) => r.text.includes('"e3"')), 'e3 at the receiver')).path, `/in?token=${TOKEN}&sig=${SIG}&channel=audit`);

    // A new value replaces the stored one.
    const rotated = await call('PATCH', '/v1/tenants/acme/destinations/hook', { url: shown.replace('token=********', 'token=rotated-1') });
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal((await pipeline.router.publish([event('e4')])).ok, true);
    assert.equal((await waitFor(() => rx.requests.find((r) => r.text.includes('"e4"')), 'e4 at the receiver')).path, `/in?token=rotated-1&sig=${SIG}&channel=audit`);

    // Change events, as the tenant's destination received them and as the audit store keeps them: redacted.
    const changes = await waitFor(async () => {
      const r = (await pipeline.search.search({ type: 'auditstream.destination.updated' }, { maxBytes: 1_000_000 })) as { events: AuditEvent[] };
      return r.events.length >= 2 ? r.events : null;
    }, 'the updates in the audit store');
    const createdEvent = (await pipeline.search.search({ type: 'auditstream.destination.created' }, { maxBytes: 1_000_000 })) as { events: AuditEvent[] };
    assert.equal(createdEvent.events.length, 1);
    assert.equal((createdEvent.events[0]!.details as { config: { url: string } }).config.url, shown);
    noSecret('the change events in the audit store', JSON.stringify([...changes, ...createdEvent.events]));
    noSecret('the change events delivered', rx.requests.map((r) => r.text).join('\n'));
    assert.ok(rx.requests.some((r) => r.text.includes('auditstream.destination.updated')), 'the receiver got the change events it was checked for');

    noSecret('the GET after all', (await call('GET', '/v1/tenants/acme/destinations/hook')).text);
    // Nothing under dataDir has them: control.sqlite and its WAL, the journal, the audit store.
    for (const file of filesUnder(dataDir)) {
      const bytes = readFileSync(file);
      for (const s of SECRETS) assert.ok(!bytes.includes(s), `${file} holds ${s}`);
    }
  });
}

test("a test step quoting the destination's endpoint shows its query values redacted: Test & Add's 422, and POST …/test", async (t) => {
  const dataDir = await tempDir(t);
  const config = parseConfig(
    configSchema,
    {
      dataDir,
      server: { listen: '127.0.0.1:0', apiKeys: [ADMIN] },
      // Endpoint overrides and static keys only so the destination reaches the emulator.
      tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'], allowEndpointOverride: true, allowStaticAwsKeys: true } },
    },
    '',
  );
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  const app = buildApp({ config, pipeline, search: pipeline.search, logger: pino({ level: 'silent' }) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await pipeline.stop(2000);
  });
  const kinesis = await startKinesalite(t);
  const now = new Date().toISOString();
  const tenant = { id: 'acme', name: 'acme', externalId: newExternalId(), quotas: config.tenants.defaultQuotas, createdAt: now, updatedAt: now };
  await pipeline.tenancy.store.createTenant(tenant);
  pipeline.tenancy.tenants.set(tenant);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, text: await res.text() };
  };
  const endpoint = `${kinesis.endpoint}/?X-Vpce-Token=${TOKEN}`;
  const stream = { name: 'stream', type: 'kinesis', streamName: 'no-such-stream', region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS };

  const failed = await call('POST', '/v1/tenants/acme/destinations', stream);
  assert.equal(failed.status, 422, failed.text);
  assert.match(failed.text, /not found in region us-east-1 at http:\/\/[^ ]+\?X-Vpce-Token=\*{8}/, 'the step names the endpoint it tried');
  assert.ok(!failed.text.includes(TOKEN), failed.text);

  const saved = await call('POST', '/v1/tenants/acme/destinations?skipTest=true', stream);
  assert.equal(saved.status, 201, saved.text);
  assert.ok(!saved.text.includes(TOKEN), saved.text);
  const tested = await call('POST', '/v1/tenants/acme/destinations/stream/test');
  assert.equal(tested.status, 200, tested.text);
  assert.match(tested.text, /X-Vpce-Token=\*{8}/);
  assert.ok(!tested.text.includes(TOKEN), tested.text);
});

test('a webhook whose path is its token (Slack-style) keeps it in secureParams: sealed at rest, ******** in answers and errors, resolved only on the wire', async (t) => {
  const dataDir = await tempDir(t);
  let failing = false;
  const receiver = await startHttpReceiver(t, (req) => (failing ? { status: 503, body: `no hook at ${req.path}` } : { status: 200 }));
  const { pipeline, call } = await start(t, dataDir, 'embedded');
  const path = 'T0AB12/B0CD34/slackpathsecret99';
  const created = await call('POST', '/v1/tenants/acme/destinations', { name: 'slack', type: 'http', url: `${receiver.url}/services/\${hook}`, secureParams: { hook: path }, batch: { lingerMs: 0 }, retry: { initialBackoffMs: 50, maxBackoffMs: 100 } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.destination.config.url, `${receiver.url}/services/\${hook}`);
  assert.deepEqual(created.body.destination.config.secureParams, { hook: '********' });

  await pipeline.router.publish([event('slack-1')]);
  await waitFor(() => receiver.requests.some((r) => r.method === 'POST' && r.path === `/services/${path}`), 'delivered to the resolved URL');

  failing = true;
  await pipeline.router.publish([event('slack-2')]);
  const view = await waitFor(async () => {
    const d = await call('GET', '/v1/tenants/acme/destinations/slack');
    return d.body.health.lastError ? d : null;
  }, 'failing with the receiver quoting the path');
  assert.match(view.body.health.lastError, /^POST http:\/\/127\.0\.0\.1:\d+\/services\/\$\{hook\} answered HTTP 503: no hook at \/services\/\*{8}$/);
  assert.ok(!view.text.includes(path), view.text);
  const control = filesUnder(join(dataDir)).filter((f) => /control/.test(f));
  assert.ok(control.length > 0, 'the control store is on disk');
  for (const f of control) assert.ok(!readFileSync(f).includes(path), `${f} holds the path in the clear`);
});
