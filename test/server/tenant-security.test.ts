import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { EMULATOR_CREDENTIALS, readAllRecords, startKinesalite } from '../support/kinesis-emulators.js';
import { startStsServer } from '../support/sts-server.js';
import { startTenantApp } from '../support/tenant-app.js';
import { tempDir, waitFor } from '../support/temp.js';

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

test("a tenant cannot store an oversized destination nor credentials in a URL, and the refusal does not echo them", async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] } } });
  await app.addTenant('evil');
  const evil = await app.addKey('evil', ['read', 'manage']);
  const rx = await startHttpReceiver(t, () => ({ status: 200 }));

  const huge = await call(app.url, evil, 'POST', '/v1/tenants/evil/destinations', { name: 'wide', type: 'http', url: `${rx.url}/hook`, include: Array.from({ length: 20_000 }, () => 'login') });
  assert.equal(huge.status, 413, huge.text);
  assert.equal(huge.body.code, 'BODY_TOO_LARGE');
  assert.match(huge.body.error, /65536 bytes/);

  // Deep but small: redaction and the merge patch recurse through the config, so depth is bounded before them (it was a 500).
  let deep: unknown = 1;
  for (let i = 0; i < 3000; i++) deep = { a: deep };
  assert.equal((await call(app.url, evil, 'POST', '/v1/tenants/evil/destinations', { name: 'hook', type: 'http', url: `${rx.url}/hook` })).status, 201);
  for (const [method, path] of [['PATCH', '/v1/tenants/evil/destinations/hook'], ['POST', '/v1/tenants/evil/destinations']] as const) {
    const tooDeep = await call(app.url, evil, method, path, { name: 'deep', type: 'http', url: `${rx.url}/hook`, headers: deep });
    assert.equal(tooDeep.status, 400, tooDeep.text);
    assert.equal(tooDeep.body.code, 'BODY_MALFORMED');
    assert.match(tooDeep.body.error, /server\.limits\.maxDepth \(64\)/);
  }
  assert.equal((await call(app.url, evil, 'DELETE', '/v1/tenants/evil/destinations/hook?backlog=discard')).status, 200);

  const withUser = await call(app.url, evil, 'POST', '/v1/tenants/evil/destinations', { name: 'hook', type: 'http', url: `http://svc:Pa55word@127.0.0.1:${rx.port}/hook` });
  assert.equal(withUser.status, 422, withUser.text);
  assert.equal(withUser.body.code, 'DESTINATION_NOT_ALLOWED');
  assert.equal(withUser.body.key, 'url');
  assert.doesNotMatch(withUser.text, /Pa55word/);
  assert.deepEqual((await call(app.url, evil, 'GET', '/v1/tenants/evil/destinations')).body, { destinations: [] });
  assert.equal(rx.requests.length, 0);

  // The same destination with the credentials where they are sealed is fine, and a PATCH is bounded as well.
  const added = await call(app.url, evil, 'POST', '/v1/tenants/evil/destinations', { name: 'hook', type: 'http', url: `${rx.url}/hook`, auth: { username: 'svc', password: 'Pa55word' } });
  assert.equal(added.status, 201, added.text);
  assert.doesNotMatch(added.text, /Pa55word/);
  const wider = await call(app.url, evil, 'PATCH', '/v1/tenants/evil/destinations/hook', { include: Array.from({ length: 20_000 }, () => 'login') });
  assert.equal(wider.status, 413, wider.text);
});

test("a tenant's role is always assumed with that tenant's own External ID, never one the tenant gives", async (t) => {
  const app = await startTenantApp(t, {
    adminKey: ADMIN,
    // Endpoint overrides and static keys only so the destination reaches the emulators; the External ID rule is the same without them.
    tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'], allowEndpointOverride: true, allowStaticAwsKeys: true } },
  });
  const acme = await app.addTenant('acme');
  const evil = await app.addTenant('evil');
  const acmeKey = await app.addKey('acme', ['read', 'manage']);
  const evilKey = await app.addKey('evil', ['read', 'manage']);
  const kinesis = await startKinesalite(t);
  await kinesis.createStream('acme-audit', 1);
  // acme's role, which trusts the vendor only with acme's External ID, as the CloudFormation template makes it.
  const role = 'arn:aws:iam::123456789012:role/auditstream-acme-kinesis';
  const sts = await startStsServer(t, { roleArn: role, externalId: acme.externalId });
  const destination = { name: 'stream', type: 'kinesis', streamName: 'acme-audit', region: 'us-east-1', endpoint: kinesis.endpoint, stsEndpoint: sts.endpoint, credentials: EMULATOR_CREDENTIALS, roleArn: role };

  // evil learned acme's role ARN and External ID (the ID is no secret: it is in acme's console link).
  const named = await call(app.url, evilKey, 'POST', '/v1/tenants/evil/destinations', { ...destination, externalId: acme.externalId });
  assert.equal(named.status, 422, named.text);
  assert.equal(named.body.code, 'DESTINATION_NOT_ALLOWED');
  assert.equal(named.body.key, 'externalId');
  const unnamed = await call(app.url, evilKey, 'POST', '/v1/tenants/evil/destinations', destination);
  assert.equal(unnamed.status, 422, unnamed.text);
  assert.equal(unnamed.body.code, 'TEST_FAILED');
  assert.ok(sts.calls.length > 0 && sts.calls.every((c) => c.externalId === evil.externalId && !c.granted), JSON.stringify(sts.calls));
  assert.deepEqual((await call(app.url, evilKey, 'GET', '/v1/tenants/evil/destinations')).body, { destinations: [] });

  // The tenant's own ID may be repeated, as the CloudFormation Outputs give it.
  const own = await call(app.url, acmeKey, 'POST', '/v1/tenants/acme/destinations', { ...destination, externalId: acme.externalId });
  assert.equal(own.status, 201, own.text);
  assert.ok(sts.calls.some((c) => c.externalId === acme.externalId && c.granted));
});

test("a tenant's AWS destination names a role (or, where allowed, its own keys): without either it would write with the server's own AWS credentials", async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'], allowEndpointOverride: true } } });
  await app.addTenant('evil');
  const evilKey = await app.addKey('evil', ['read', 'manage', 'ingest']);
  const kinesis = await startKinesalite(t);
  // The vendor's own stream, which its own credentials (instance or task role; here the environment) may write.
  await kinesis.createStream('vendor-billing', 1);
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = EMULATOR_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = EMULATOR_CREDENTIALS.secretAccessKey;
  t.after(() => {
    for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const destination = { name: 'stream', type: 'kinesis', streamName: 'vendor-billing', region: 'us-east-1', endpoint: kinesis.endpoint, lingerMs: 0 };
  const refused = await call(app.url, evilKey, 'POST', '/v1/tenants/evil/destinations', destination);
  assert.equal(refused.status, 422, refused.text);
  assert.equal(refused.body.code, 'DESTINATION_NOT_ALLOWED');
  assert.equal(refused.body.key, 'roleArn');
  assert.deepEqual((await call(app.url, evilKey, 'GET', '/v1/tenants/evil/destinations')).body, { destinations: [] });
  assert.equal((await call(app.url, evilKey, 'POST', '/v1/events', [{ id: 'e1', type: 'login', time: '2024-01-01T00:00:00Z' }])).status, 202);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await readAllRecords(kinesis.client, 'vendor-billing'), []);
});

test("a PATCH that sets another Host header must send the secrets again: a shared front (CDN, load balancer) routes by Host, and with https by SNI taken from it", async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] } } });
  await app.addTenant('acme');
  // A stolen manage key: it can point acme's destination, not read its secrets.
  const stolen = await app.addKey('acme', ['manage', 'ingest']);
  // One address serving many sites, each chosen by the Host it is asked for.
  const front = await startHttpReceiver(t, () => ({ status: 200 }));
  const token = 'acme-intake-token-5c1f0e9a7b';
  const added = await call(app.url, stolen, 'POST', '/v1/tenants/acme/destinations', { name: 'intake', type: 'http', url: `${front.url}/hook`, auth: { bearer: token } });
  assert.equal(added.status, 201, added.text);

  for (const host of ['evil.example', 'EVIL.example:80']) {
    const moved = await call(app.url, stolen, 'PATCH', '/v1/tenants/acme/destinations/intake', { headers: { Host: host } });
    assert.equal(moved.status, 400, moved.text);
    assert.equal(moved.body.code, 'DESTINATION_INVALID');
    assert.deepEqual(moved.body.problems.map((p: { key: string }) => p.key), ['auth.bearer']);
  }
  assert.equal((await call(app.url, stolen, 'POST', '/v1/events', [{ id: 'e1', type: 'login', time: '2024-01-01T00:00:00Z' }])).status, 202);
  await waitFor(() => front.requests.some((r) => r.method === 'POST'), 'the event to reach the intake');
  const hosts = front.requests.filter((r) => r.headers.authorization === `Bearer ${token}`).map((r) => r.headers.host);
  assert.deepEqual([...new Set(hosts)], [`127.0.0.1:${front.port}`]);

  // Sent again in clear, the secret is the caller's to give: the change is taken.
  const resent = await call(app.url, stolen, 'PATCH', '/v1/tenants/acme/destinations/intake', { headers: { Host: 'evil.example' }, auth: { bearer: 'evil-own-token-0000' } });
  assert.equal(resent.status, 200, resent.text);
});

test('concurrent Test & Adds cannot take a tenant past its maxDestinations: the ones being tested count', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] }, defaultQuotas: { maxDestinations: 2 } } });
  await app.addTenant('acme');
  const key = await app.addKey('acme', ['manage', 'read']);
  // Each test's health probe takes a while, as a real intake's may: every request is past the quota check before any is saved.
  const rx = await startHttpReceiver(t, async (r) => {
    if (r.method === 'GET') await new Promise((resolve) => setTimeout(resolve, 300));
    return { status: 200 };
  });
  const attempts = await Promise.all(
    Array.from({ length: 6 }, (_, i) => call(app.url, key, 'POST', '/v1/tenants/acme/destinations', { name: `hec-${i}`, type: 'http', preset: 'splunk-hec', url: rx.url, splunk: { token: 'hec-token-0123' } })),
  );
  assert.deepEqual(attempts.map((a) => a.status).sort(), [201, 201, 409, 409, 409, 409], attempts.map((a) => a.text).join('\n'));
  for (const refused of attempts.filter((a) => a.status === 409)) assert.equal(refused.body.code, 'QUOTA_EXCEEDED');
  assert.equal((await call(app.url, key, 'GET', '/v1/tenants/acme/destinations')).body.destinations.length, 2);
  // No attempt holds a slot once answered.
  const name = attempts.findIndex((a) => a.status === 201);
  assert.equal((await call(app.url, key, 'DELETE', `/v1/tenants/acme/destinations/hec-${name}?backlog=discard`)).status, 200);
  const again = await call(app.url, key, 'POST', '/v1/tenants/acme/destinations', { name: 'hec-again', type: 'http', preset: 'splunk-hec', url: rx.url, splunk: { token: 'hec-token-0123' } });
  assert.equal(again.status, 201, again.text);
});

test('a server without server.apiKeys refuses to create tenants: anyone would act as admin for all of them', async (t) => {
  const config = parseConfig(configSchema, { dataDir: await tempDir(t), server: { listen: '127.0.0.1:0' } }, '');
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  t.after(() => pipeline.stop(1000));
  const app = buildApp({ config, pipeline, search: pipeline.search, logger: pino({ level: 'silent' }) });
  t.after(() => app.close());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const created = await call(url, undefined, 'POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
  assert.equal(created.status, 409, created.text);
  assert.equal(created.body.code, 'ADMIN_KEYS_REQUIRED');
  assert.match(created.body.error, /server\.apiKeys/);
  assert.deepEqual((await call(url, undefined, 'GET', '/v1/tenants')).body, { tenants: [] });
});
