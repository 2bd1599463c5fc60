import { dereference } from '@readme/openapi-parser';
import { Ajv } from 'ajv';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { readOrCreateSecretKey, secretKeyFile } from '../../src/config/secure-params.js';
import { parseConfig } from '../../src/config/validate.js';
import type { AuditEvent } from '../../src/core/event.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import type { RouteTable } from '../../src/pipeline/route-table.js';
import { buildApp } from '../../src/server/app.js';
import { newApiKey } from '../../src/tenants/api-key-secret.js';
import { sealSecrets } from '../../src/tenants/destination-secrets.js';
import { newExternalId } from '../../src/tenants/external-id.js';
import type { Scope } from '../../src/tenants/tenant.js';
import { startHttpReceiver, type Answer, type ReceivedRequest } from '../support/http-receiver.js';
import { startSaslRefusingBroker } from '../support/sasl-refusing-broker.js';
import { tempDir, waitFor } from '../support/temp.js';

const ADMIN = 'destinations-test-admin-key-0123456789';
const SECRET = 'the-tenants-bearer-token-4f9a1c';

interface Running {
  url: string;
  pipeline: Pipeline;
  stop(): Promise<void>;
}

/** The real pipeline and app in this process, listening on loopback; tests reach it through HTTP only, tenants and keys aside (another part's API). */
async function start(t: TestContext, dataDir: string, tenants: object = {}, logger = pino({ level: 'silent' })): Promise<Running> {
  const config = parseConfig(
    configSchema,
    {
      dataDir,
      server: { listen: '127.0.0.1:0', apiKeys: [ADMIN] },
      audit: { emitters: [{ type: 'audit-store' }] },
      tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] }, ...tenants },
    },
    '',
  );
  const pipeline = await Pipeline.start(config, logger);
  const app = buildApp({ config, pipeline, search: pipeline.search, logger: pino({ level: 'silent' }) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
    await pipeline.stop(2000);
  };
  t.after(stop);
  return { url, pipeline, stop };
}

async function addTenant(p: Pipeline, id: string, quotas: object = {}): Promise<void> {
  const now = new Date().toISOString();
  const defaults = p.config.tenants.defaultQuotas;
  const tenant = { id, name: id, externalId: newExternalId(), quotas: { ...defaults, ...quotas }, createdAt: now, updatedAt: now };
  await p.tenancy.store.createTenant(tenant);
  p.tenancy.tenants.set(tenant);
}

async function addKey(p: Pipeline, tenant: string, scopes: Scope[]): Promise<{ id: string; key: string }> {
  const k = newApiKey();
  const record = { id: k.id, tenant, name: `key-${k.id}`, scopes, secretHash: k.secretHash, createdAt: new Date().toISOString() };
  await p.tenancy.store.createKey(record);
  p.tenancy.keys.add(record);
  return { id: k.id, key: k.key };
}

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };

/** Every answer is checked against the schema /openapi.json documents for its route, method and status. */
async function contract(base: string): Promise<(method: string, path: string, status: number, body: unknown) => void> {
  const doc = (await dereference((await (await fetch(`${base}/openapi.json`)).json()) as never)) as unknown as Doc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  return (method, path, status, body) => {
    const route = path.split('?')[0]!.replace(/^\/v1\/tenants\/[^/]+\/destinations(\/[^/]+)?/, (_, name: string | undefined) => `/v1/tenants/{tenant}/destinations${name ? '/{name}' : ''}`);
    const schema = doc.paths[route]?.[method.toLowerCase()]?.responses[String(status)]?.content?.['application/json']?.schema;
    assert.ok(schema, `${method} ${route} ${status} is not documented`);
    const check = ajv.compile(schema);
    assert.ok(check(body), `${method} ${route} ${status}: ${JSON.stringify(body).slice(0, 400)} does not match: ${JSON.stringify(check.errors)}`);
  };
}

let conforms: Awaited<ReturnType<typeof contract>> | undefined;

function api(base: string, key: string) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed = (text ? JSON.parse(text) : undefined) as Record<string, any>;
    if (path.startsWith('/v1/tenants/')) (conforms ??= await contract(base))(method, path, res.status, parsed);
    return { status: res.status, text, body: parsed };
  };
}

const event = (id: string, tenant?: string, type = 'login'): AuditEvent => ({
  id,
  time: '2024-01-01T00:00:00.000Z',
  type,
  source: 'generic',
  outcome: 'success',
  details: {},
  raw: '{}',
  ...(tenant ? { tenant } : {}),
});

/** Every event a receiver got, in arrival order (the generic webhook sends a JSON array per request). */
function received(requests: ReceivedRequest[]): AuditEvent[] {
  return requests.flatMap((r) => JSON.parse(r.text) as AuditEvent[]);
}
const own = (events: AuditEvent[]) => events.filter((e) => !e.type.startsWith('auditstream.')).map((e) => e.id);

test('Test & Add, tenant isolation, pause, resume and delete of a tenant destination through the API on a running server', async (t) => {
  const dataDir = await tempDir(t);
  const server = await start(t, dataDir);
  const p = server.pipeline;
  await addTenant(p, 'acme');
  await addTenant(p, 'globex');
  const acmeKey = await addKey(p, 'acme', ['read', 'manage']);
  const acmeReader = await addKey(p, 'acme', ['read']);
  const globexKey = await addKey(p, 'globex', ['read', 'manage']);
  const acme = api(server.url, acmeKey.key);
  const admin = api(server.url, ADMIN);
  const toAcme = await startHttpReceiver(t, () => ({ status: 200 }));
  const toGlobex = await startHttpReceiver(t, () => ({ status: 200 }));
  const siem = { name: 'siem', type: 'http', url: `${toAcme.url}/hook`, auth: { bearer: SECRET }, batch: { lingerMs: 0 } };

  // Test & Add that fails: the steps say where, and nothing is saved.
  const closed = await startHttpReceiver(t, () => ({ status: 200 }));
  await closed.close();
  const failed = await acme('POST', '/v1/tenants/acme/destinations', { ...siem, url: `${closed.url}/hook` });
  assert.equal(failed.status, 422, failed.text);
  assert.equal(failed.body.code, 'TEST_FAILED');
  assert.ok(failed.body.steps.some((s: { ok: boolean; step: string }) => !s.ok && /connect/.test(s.step)), failed.text);
  assert.deepEqual((await acme('GET', '/v1/tenants/acme/destinations')).body, { destinations: [] });

  // Refusals: the policy, bad keys, scopes, another tenant's route, skipTest for tenants.
  const local = await acme('POST', '/v1/tenants/acme/destinations', { name: 'disk', type: 'log', file: '/tmp/x.log' });
  assert.equal(local.status, 422);
  assert.equal(local.body.code, 'DESTINATION_NOT_ALLOWED');
  const metadata = await acme('POST', '/v1/tenants/acme/destinations', { ...siem, url: 'http://169.254.169.254/latest/meta-data/' });
  assert.equal(metadata.status, 422);
  assert.equal(metadata.body.key, 'url');
  const invalid = await acme('POST', '/v1/tenants/acme/destinations', { ...siem, gzip: 'yes', colour: 'red' });
  assert.equal(invalid.status, 400, invalid.text);
  assert.equal(invalid.body.code, 'DESTINATION_INVALID');
  assert.deepEqual(invalid.body.problems.map((q: { key: string }) => q.key).sort(), ['colour', 'gzip'].sort());
  assert.equal((await api(server.url, acmeReader.key)('POST', '/v1/tenants/acme/destinations', siem)).status, 403);
  assert.equal((await api(server.url, globexKey.key)('POST', '/v1/tenants/acme/destinations', siem)).status, 404);
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations?skipTest=true', siem)).status, 403);
  assert.equal((await admin('POST', '/v1/tenants/nobody/destinations', siem)).body.code, 'TENANT_NOT_FOUND');

  // Test & Add that passes: 201 with the steps; the secret is never shown.
  const added = await acme('POST', '/v1/tenants/acme/destinations', siem);
  assert.equal(added.status, 201, added.text);
  assert.ok(added.body.steps.length >= 2 && added.body.steps.every((s: { ok: boolean }) => s.ok));
  assert.equal(added.body.destination.config.auth.bearer, '********');
  assert.equal(added.body.destination.state, 'active');
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations', siem)).status, 409);
  const globexAdded = await api(server.url, globexKey.key)('POST', '/v1/tenants/globex/destinations', { name: 'siem', type: 'http', url: `${toGlobex.url}/hook`, batch: { lingerMs: 0 } });
  assert.equal(globexAdded.status, 201, globexAdded.text);

  // Each destination gets its own tenant's events only: not the other tenant's, not tenant-less ones.
  const batch = [...['a1', 'a2', 'a3'].map((id) => event(id, 'acme')), ...['g1', 'g2'].map((id) => event(id, 'globex')), event('none-1'), event('a4', 'acme', 'logout')];
  assert.equal((await p.router.publish(batch)).ok, true);
  const acmeGot = await waitFor(() => (own(received(toAcme.requests)).length >= 4 ? received(toAcme.requests) : null), "acme's events at acme's receiver");
  await waitFor(() => own(received(toGlobex.requests)).length >= 2, "globex's events at globex's receiver");
  assert.deepEqual(own(acmeGot).sort(), ['a1', 'a2', 'a3', 'a4']);
  assert.deepEqual(own(received(toGlobex.requests)).sort(), ['g1', 'g2']);
  assert.ok([...received(toAcme.requests), ...received(toGlobex.requests)].every((e) => e.id !== 'none-1'));
  assert.ok(received(toAcme.requests).every((e) => e.tenant === 'acme'), 'change events of acme only');
  assert.ok(toAcme.requests.every((r) => r.headers.authorization === `Bearer ${SECRET}`), 'the sealed secret is opened for the sink');
  const created = received(toAcme.requests).find((e) => e.type === 'auditstream.destination.created');
  assert.equal(created?.actor, acmeKey.id);
  assert.ok(!JSON.stringify(created).includes(SECRET), 'the change event carries no secret');

  // Read: own tenant only, secrets redacted, health counted. Secrets sealed in the control store.
  const view = await api(server.url, acmeReader.key)('GET', '/v1/tenants/acme/destinations/siem');
  assert.equal(view.status, 200);
  assert.ok(view.body.health.delivered >= 4);
  assert.ok(view.body.health.lastSuccessAt);
  assert.equal((await api(server.url, globexKey.key)('GET', '/v1/tenants/acme/destinations/siem')).status, 404);
  assert.equal((await acme('GET', '/v1/tenants/acme/destinations/nope')).body.code, 'DESTINATION_NOT_FOUND');
  const listed = await acme('GET', '/v1/tenants/acme/destinations');
  for (const answer of [view.text, listed.text, added.text]) assert.ok(!answer.includes(SECRET) && !answer.includes('enc:v1:'));
  // The store's file is always there (or the check below checks nothing); its WAL only until a checkpoint.
  assert.ok(existsSync(join(dataDir, 'control.sqlite')), 'the embedded control store is in dataDir');
  for (const file of ['control.sqlite', 'control.sqlite-wal']) {
    const path = join(dataDir, file);
    if (existsSync(path)) assert.ok(!readFileSync(path).includes(SECRET), `${file} holds the secret sealed only`);
  }

  // Pause: events are kept (the backlog grows), nothing is delivered; resume delivers them in order.
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations/siem/pause')).body.state, 'paused');
  const before = own(received(toAcme.requests)).length;
  const paused = ['p0', 'p1', 'p2', 'p3'].map((id) => event(id, 'acme'));
  for (const e of paused) assert.equal((await p.router.publish([e])).ok, true);
  const backlog = await acme('GET', '/v1/tenants/acme/destinations/siem');
  assert.ok(backlog.body.health.backlog.events >= 4, backlog.text);
  assert.equal(own(received(toAcme.requests)).length, before, 'nothing delivered while paused');
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations/siem/resume')).body.state, 'active');
  await waitFor(() => own(received(toAcme.requests)).length >= before + 4, 'the backlog delivered after resume');
  assert.deepEqual(own(received(toAcme.requests)).slice(before), ['p0', 'p1', 'p2', 'p3']);
  const actions = () => received(toAcme.requests).filter((e) => e.type.startsWith('auditstream.')).map((e) => e.type);
  await waitFor(() => actions().includes('auditstream.destination.resumed'), 'the resume recorded as a change event of acme');
  assert.ok(actions().includes('auditstream.destination.paused'), actions().join());

  // PATCH: a URL on another host or port takes no stored secret along: the bearer must be sent again (400 naming it).
  const carried = await acme('PATCH', '/v1/tenants/acme/destinations/siem', { url: `${closed.url}/hook` });
  assert.equal(carried.status, 400, carried.text);
  assert.deepEqual(carried.body.problems.map((p: { key: string }) => p.key), ['auth.bearer']);
  const sentBackRedacted = await acme('PATCH', '/v1/tenants/acme/destinations/siem', { url: `${closed.url}/hook`, auth: { bearer: '********' } });
  assert.equal(sentBackRedacted.status, 400, sentBackRedacted.text);
  // With the secret sent again, a changed URL is tested first (422, nothing changed); include/exclude are not; the secret sent back redacted keeps its value.
  const badPatch = await acme('PATCH', '/v1/tenants/acme/destinations/siem', { url: `${closed.url}/hook`, auth: { bearer: SECRET } });
  assert.equal(badPatch.status, 422, badPatch.text);
  const patched = await acme('PATCH', '/v1/tenants/acme/destinations/siem', { include: ['login'], auth: { bearer: '********' } });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.body.destination.config.include, ['login']);
  assert.equal(patched.body.destination.config.url, siem.url);
  assert.equal((await p.router.publish([event('x-logout', 'acme', 'logout'), event('x-login', 'acme')])).ok, true);
  await waitFor(() => own(received(toAcme.requests)).includes('x-login'), 'the login after the patch');
  assert.ok(!own(received(toAcme.requests)).includes('x-logout'), 'include applies at once');
  assert.equal(toAcme.requests.at(-1)?.headers.authorization, `Bearer ${SECRET}`);

  // Delete, discarding a backlog: explicit and counted; then gone.
  await acme('POST', '/v1/tenants/acme/destinations/siem/pause');
  for (const id of ['d0', 'd1']) await p.router.publish([event(id, 'acme')]);
  const discarded = await acme('DELETE', '/v1/tenants/acme/destinations/siem?backlog=discard');
  assert.equal(discarded.status, 200, discarded.text);
  assert.ok(discarded.body.discardedEvents >= 2, discarded.text);
  assert.equal((await acme('GET', '/v1/tenants/acme/destinations/siem')).status, 404);
  assert.ok(!own(received(toAcme.requests)).includes('d0'));
  // Drain (the default): answered deleted once the backlog is delivered.
  const drained = await api(server.url, globexKey.key)('DELETE', '/v1/tenants/globex/destinations/siem');
  assert.equal(drained.status, 200, drained.text);
  assert.deepEqual((await admin('GET', '/v1/tenants/globex/destinations')).body, { destinations: [] });
  assert.equal((await p.router.publish([event('after', 'acme')])).ok, true, 'a tenant without destinations still ingests');
});

test('destinations and their paused state survive a restart; a destination failing longer than suspendAfterSec is suspended, and resume lifts it', async (t) => {
  const dataDir = await tempDir(t);
  let answer: Answer = { status: 200 };
  const receiver = await startHttpReceiver(t, () => answer);
  const tenants = { suspendAfterSec: 1 };
  let server = await start(t, dataDir, tenants);
  await addTenant(server.pipeline, 'acme', { maxDestinations: 2 });
  const key = await addKey(server.pipeline, 'acme', ['read', 'manage']);
  const dest = (name: string) => ({ name, type: 'http', url: `${receiver.url}/${name}`, batch: { lingerMs: 0 }, retry: { initialBackoffMs: 50, maxBackoffMs: 100 } });
  let acme = api(server.url, key.key);
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations', dest('live'))).status, 201);
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations', dest('held'))).status, 201);
  const third = await acme('POST', '/v1/tenants/acme/destinations', dest('third'));
  assert.equal(third.status, 409);
  assert.equal(third.body.code, 'QUOTA_EXCEEDED');
  assert.match(third.body.error, /maxDestinations/);
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations/held/pause')).status, 200);
  await server.pipeline.router.publish([event('before-restart', 'acme')]);
  await waitFor(async () => (await acme('GET', '/v1/tenants/acme/destinations/held')).body.health.backlog.events >= 1, 'held keeps the event');

  await server.stop();
  server = await start(t, dataDir, tenants);
  acme = api(server.url, key.key);
  const after = await acme('GET', '/v1/tenants/acme/destinations');
  assert.deepEqual(after.body.destinations.map((d: { name: string; state: string }) => `${d.name}:${d.state}`), ['held:paused', 'live:active']);
  assert.ok(after.body.destinations[0].health.backlog.events >= 1, 'the paused backlog is kept across the restart');

  // The receiver fails every request: failing, then suspended after 1 s, with a change event by `system`.
  answer = { status: 503 };
  await server.pipeline.router.publish([event('while-down', 'acme')]);
  const failing = await waitFor(async () => {
    const d = (await acme('GET', '/v1/tenants/acme/destinations/live')).body;
    return d.state === 'failing' ? d : null;
  }, 'live failing');
  assert.ok(failing.health.failingSince && failing.health.lastError, JSON.stringify(failing.health));
  await waitFor(async () => (await acme('GET', '/v1/tenants/acme/destinations/live')).body.state === 'suspended', 'live suspended');
  const suspended = await waitFor(async () => {
    const r = await server.pipeline.search.search({ type: 'auditstream.destination.suspended' }, { maxBytes: 1_000_000 });
    return (r as { events: AuditEvent[] }).events[0];
  }, 'the suspension recorded in the store');
  assert.equal(suspended.actor, 'system');
  assert.equal(suspended.tenant, 'acme');

  // Fixed, and resumed by hand: delivered at once, not an hour later.
  answer = { status: 200 };
  const resumed = await acme('POST', '/v1/tenants/acme/destinations/live/resume');
  assert.equal(resumed.status, 200);
  await waitFor(() => received(receiver.requests).some((e) => e.id === 'while-down'), 'the backlog after resume');
  await waitFor(async () => (await acme('GET', '/v1/tenants/acme/destinations/live')).body.state === 'active', 'live active again');
  assert.ok(!received(receiver.requests.filter((r) => r.path === '/held')).some((e) => e.id === 'before-restart'), 'held is still paused');
});

test("a receiver's error that quotes the destination's secret shows it redacted in health.lastError, the suspension event, the server's log and the dead-letter file", async (t) => {
  const dataDir = await tempDir(t);
  const token = 'query-token-7d2e9b31';
  let answer: 'ok' | 'unavailable' | 'bad request' = 'ok';
  // Like a webhook answering "invalid token <token>": the error text the sink keeps quotes the secret.
  const receiver = await startHttpReceiver(t, (req) =>
    answer === 'unavailable' ? { status: 503, body: `no hook for ${req.path}` } : answer === 'bad request' ? { status: 400, body: `bad event for ${req.path}` } : { status: 200 },
  );
  const logLines: string[] = [];
  const server = await start(t, dataDir, { suspendAfterSec: 1 }, pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
  await addTenant(server.pipeline, 'acme');
  const key = await addKey(server.pipeline, 'acme', ['read', 'manage']);
  const acme = api(server.url, key.key);
  const created = await acme('POST', '/v1/tenants/acme/destinations', { name: 'hook', type: 'http', url: `${receiver.url}/hook?token=${token}`, batch: { lingerMs: 0 }, retry: { initialBackoffMs: 50, maxBackoffMs: 100 } });
  assert.equal(created.status, 201, created.text);

  answer = 'unavailable';
  await server.pipeline.router.publish([event('e-1', 'acme')]);
  const view = await waitFor(async () => {
    const d = await acme('GET', '/v1/tenants/acme/destinations/hook');
    return d.body.health.lastError ? d : null;
  }, 'hook failing');
  assert.match(view.body.health.lastError, /answered HTTP 503: no hook for \/hook\?token=\*{8}/);
  assert.ok(!view.text.includes(token), view.text);
  const list = await acme('GET', '/v1/tenants/acme/destinations');
  assert.ok(!list.text.includes(token), list.text);

  const suspended = await waitFor(async () => {
    const r = await server.pipeline.search.search({ type: 'auditstream.destination.suspended' }, { maxBytes: 1_000_000 });
    return (r as { events: AuditEvent[] }).events[0];
  }, 'the suspension recorded in the store');
  assert.match(JSON.stringify(suspended), /\*{8}/);
  assert.ok(!JSON.stringify(suspended).includes(token), JSON.stringify(suspended));

  // Refused for good: dead-lettered with the receiver's reason, which quotes the path too.
  answer = 'bad request';
  await acme('POST', '/v1/tenants/acme/destinations/hook/resume');
  const deadLetters = join(dataDir, 'dead-letter', 'tenants', 'acme', 'hook.ndjson');
  const lines = await waitFor(() => (existsSync(deadLetters) ? readFileSync(deadLetters, 'utf8') : null), 'the event dead-lettered');
  assert.match(lines, /bad event for \/hook\?token=\*{8}/);
  assert.ok(!lines.includes(token), lines);
  const log = logLines.join('');
  assert.match(log, /send failed/, 'the failures were logged');
  assert.ok(!log.includes(token), log);
});

test("a tenant Kafka destination's sink logs what kafkajs says with the destination's secrets scrubbed, when Test & Add tries it and when it runs", async (t) => {
  const dataDir = await tempDir(t);
  const password = 'kafka-sasl-password-5e0c1d';
  const broker = await startSaslRefusingBroker(t);
  const logLines: string[] = [];
  const server = await start(t, dataDir, {}, pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
  await addTenant(server.pipeline, 'acme');
  const key = await addKey(server.pipeline, 'acme', ['read', 'manage']);
  const destination = { name: 'stream', type: 'kafka', bootstrapServers: broker.bootstrapServers, topic: 'audit', securityProtocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'alice', password } };
  // The kafka sink passes kafkajs's own log entries on; kafkajs logs the broker's refusal, which quotes the password.
  const sinkLines = () => logLines.filter((line) => line.includes('"kafka":{'));

  const tested = await api(server.url, key.key)('POST', '/v1/tenants/acme/destinations', destination);
  assert.equal(tested.status, 422, tested.text);
  assert.ok(!tested.text.includes(password), tested.text);
  await waitFor(() => sinkLines().some((line) => line.includes('invalid credentials alice:')), "the test's sink logged the refusal");
  assert.ok(!logLines.join('').includes(password), logLines.join(''));
  const byTest = sinkLines().length;

  // Saved without the test (an admin's skipTest), the running sink meets the same refusal at its first send.
  const created = await api(server.url, ADMIN)('POST', '/v1/tenants/acme/destinations?skipTest=true', { ...destination, exclude: ['auditstream.*'] });
  assert.equal(created.status, 201, created.text);
  await server.pipeline.router.publish([event('e-1', 'acme')]);
  await waitFor(() => sinkLines().length > byTest, "the running sink logged the refusal");
  const view = await waitFor(async () => {
    const d = await api(server.url, key.key)('GET', '/v1/tenants/acme/destinations/stream');
    return d.body.health.lastError ? d : null;
  }, 'stream failing');
  assert.ok(!view.text.includes(password), view.text);
  assert.ok(broker.refused >= 2);
  const log = logLines.join('');
  assert.match(log, /invalid credentials alice:\*{8}/);
  assert.ok(!log.includes(password), log);
});

test("a stored destination that no longer starts shows the reason with the destination's secrets scrubbed, in its health and the server's log", async (t) => {
  const dataDir = await tempDir(t);
  let server = await start(t, dataDir);
  await addTenant(server.pipeline, 'acme');
  const key = await addKey(server.pipeline, 'acme', ['read', 'manage']);
  // A jaasConfig its schema now refuses, as a release that read it only when connecting would have stored it: the JAAS parser quotes where it stopped, the password.
  const password = 'kafka-jaas-password-8b14e2';
  const config = {
    bootstrapServers: ['127.0.0.1:9'],
    topic: 'audit',
    securityProtocol: 'SASL_PLAINTEXT',
    sasl: { mechanism: 'PLAIN', jaasConfig: `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" "${password}";` },
  };
  const now = new Date().toISOString();
  const sealed = sealSecrets('kafka', config, readOrCreateSecretKey(secretKeyFile(dataDir), process.env));
  await server.pipeline.tenancy.store.createDestination({ tenant: 'acme', name: 'old', type: 'kafka', config: sealed, paused: false, createdAt: now, updatedAt: now });
  await server.stop();

  const logLines: string[] = [];
  server = await start(t, dataDir, {}, pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
  const view = await api(server.url, key.key)('GET', '/v1/tenants/acme/destinations/old');
  assert.equal(view.status, 200, view.text);
  assert.equal(view.body.state, 'failing');
  assert.match(view.body.health.lastError, /sasl\.jaasConfig: expected key="value" at: \*{8}/);
  assert.ok(!view.text.includes(password), view.text);
  const log = logLines.join('');
  assert.match(log, /does not start/);
  assert.ok(!log.includes(password), log);
});

test("a tenant sink that fails to close is logged with its destination's secrets scrubbed, when the destination is deleted and when the server stops", async (t) => {
  const dataDir = await tempDir(t);
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }));
  const logLines: string[] = [];
  const server = await start(t, dataDir, {}, pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
  await addTenant(server.pipeline, 'acme');
  const acme = api(server.url, (await addKey(server.pipeline, 'acme', ['read', 'manage'])).key);
  const routes = (server.pipeline.router as unknown as { opts: { routes: RouteTable } }).opts.routes;
  for (const name of ['deleted', 'stopped']) {
    const created = await acme('POST', '/v1/tenants/acme/destinations', { name, type: 'http', url: `${receiver.url}/hook`, auth: { bearer: SECRET }, batch: { lingerMs: 0 } });
    assert.equal(created.status, 201, created.text);
    // As a client library's failed logout may quote the credentials; no real sink fails to close on loopback, so this one is made to.
    routes.emitter(`acme/${name}`)!.sink.close = () => Promise.reject(new Error(`logout refused for Bearer ${SECRET}`));
  }
  assert.equal((await acme('DELETE', '/v1/tenants/acme/destinations/deleted?backlog=discard')).status, 200);
  await server.stop();
  const failures = logLines.filter((line) => line.includes('sink close failed'));
  assert.deepEqual(failures.map((line) => (JSON.parse(line) as { emitter: string }).emitter).sort(), ['acme/deleted', 'acme/stopped']);
  for (const line of failures) assert.match(line, /logout refused for Bearer \*{8}/);
  assert.ok(!logLines.join('').includes(SECRET), logLines.join(''));
});

test('a stored destination whose secrets no longer open (the sealing key replaced) is listed failing with the reason; the others still list and pause', async (t) => {
  const dataDir = await tempDir(t);
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }));
  let server = await start(t, dataDir);
  await addTenant(server.pipeline, 'acme');
  const key = await addKey(server.pipeline, 'acme', ['read', 'manage']);
  let acme = api(server.url, key.key);
  const sealed = await acme('POST', '/v1/tenants/acme/destinations', { name: 'sealed', type: 'http', url: `${receiver.url}/a`, auth: { bearer: 'bearer-token-0af3' } });
  assert.equal(sealed.status, 201, sealed.text);
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations', { name: 'plain', type: 'http', url: `${receiver.url}/b` })).status, 201);
  await server.stop();

  rmSync(secretKeyFile(dataDir));
  server = await start(t, dataDir);
  acme = api(server.url, key.key);
  const list = await acme('GET', '/v1/tenants/acme/destinations');
  assert.equal(list.status, 200, list.text);
  const byName = Object.fromEntries(list.body.destinations.map((d: { name: string }) => [d.name, d]));
  assert.equal(byName.sealed.state, 'failing');
  assert.match(byName.sealed.health.lastError, /auth\.bearer/);
  assert.equal(byName.plain.state, 'active');
  assert.equal((await acme('POST', '/v1/tenants/acme/destinations/sealed/pause')).status, 200);
});

test("every destination route refuses another tenant's key (404), a key without the scope (403) and a revoked key (401)", async (t) => {
  const dataDir = await tempDir(t);
  const server = await start(t, dataDir);
  const p = server.pipeline;
  await addTenant(p, 'acme');
  await addTenant(p, 'globex');
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }));
  const manager = await addKey(p, 'acme', ['read', 'manage']);
  assert.equal((await api(server.url, manager.key)('POST', '/v1/tenants/acme/destinations', { name: 'siem', type: 'http', url: `${receiver.url}/h` })).status, 201);
  const reader = await addKey(p, 'acme', ['read']);
  const ingestOnly = await addKey(p, 'acme', ['ingest']);
  const other = await addKey(p, 'globex', ['read', 'manage']);
  const revoked = await addKey(p, 'acme', ['read', 'manage']);
  await p.tenancy.store.deleteKey('acme', revoked.id);
  p.tenancy.keys.remove(revoked.id);

  const base = '/v1/tenants/acme/destinations';
  const routes: [string, string, 'read' | 'manage', unknown?][] = [
    ['GET', base, 'read'],
    ['GET', `${base}/siem`, 'read'],
    ['POST', base, 'manage', { name: 'x', type: 'http', url: `${receiver.url}/x` }],
    ['PATCH', `${base}/siem`, 'manage', { include: ['login'] }],
    ['POST', `${base}/siem/test`, 'manage'],
    ['POST', `${base}/siem/pause`, 'manage'],
    ['POST', `${base}/siem/resume`, 'manage'],
    ['DELETE', `${base}/siem?backlog=discard`, 'manage'],
  ];
  for (const [method, path, scope, body] of routes) {
    const what = `${method} ${path}`;
    const other404 = await api(server.url, other.key)(method, path, body);
    assert.equal(other404.status, 404, what);
    assert.equal(other404.body.code, 'TENANT_NOT_FOUND', what);
    assert.equal((await api(server.url, revoked.key)(method, path, body)).status, 401, what);
    assert.equal((await api(server.url, ingestOnly.key)(method, path, body)).status, 403, what);
    if (scope === 'manage') assert.equal((await api(server.url, reader.key)(method, path, body)).status, 403, what);
  }
  // None of the refused calls changed anything.
  const still = await api(server.url, ADMIN)('GET', `${base}/siem`);
  assert.equal(still.body.state, 'active');
  assert.equal(still.body.config.include, undefined);
  assert.deepEqual((await api(server.url, ADMIN)('GET', base)).body.destinations.map((d: { name: string }) => d.name), ['siem']);
});

test("a change to a tenant's maxBacklogBytes quota caps its running destinations at once; a destination's own queue.maxBytes still only lowers it", async (t) => {
  const dataDir = await tempDir(t);
  const server = await start(t, dataDir);
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const created = await admin('POST', '/v1/tenants', { id: 'acme', name: 'Acme', quotas: { maxBacklogBytes: 32 << 20 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const receiver = await startHttpReceiver(t, () => ({ status: 200 }));
  const manage = api(server.url, ADMIN);
  const hook = { type: 'http', url: `${receiver.url}/hook` };
  const wide = await manage('POST', '/v1/tenants/acme/destinations', { name: 'wide', ...hook });
  assert.equal(wide.status, 201, wide.text);
  const narrow = await manage('POST', '/v1/tenants/acme/destinations', { name: 'narrow', ...hook, queue: { maxBytes: '8MiB' } });
  assert.equal(narrow.status, 201, narrow.text);
  const caps = async () => Object.fromEntries(((await manage('GET', '/v1/tenants/acme/destinations')).body.destinations as { name: string; health: { backlog: { maxBytes: number } } }[]).map((d) => [d.name, d.health.backlog.maxBytes]));
  assert.deepEqual(await caps(), { wide: 32 << 20, narrow: 8 << 20 });

  assert.equal((await admin('PATCH', '/v1/tenants/acme', { quotas: { maxBacklogBytes: 16 << 20 } })).status, 200);
  assert.deepEqual(await caps(), { wide: 16 << 20, narrow: 8 << 20 }, 'the running destinations have the new cap, no restart');
  assert.equal((await admin('PATCH', '/v1/tenants/acme', { quotas: { maxBacklogBytes: 4 << 20 } })).status, 200);
  assert.deepEqual(await caps(), { wide: 4 << 20, narrow: 4 << 20 });
});

test("a tenant's destination quota and list count its own destinations only, through deletes and the tenant's own deletion", async (t) => {
  const server = await start(t, await tempDir(t));
  await addTenant(server.pipeline, 'acme', { maxDestinations: 2 });
  await addTenant(server.pipeline, 'globex', { maxDestinations: 2 });
  const admin = api(server.url, ADMIN);
  // skipTest: nothing listens there; exclude: the change events would otherwise be sent to it.
  const add = (tenant: string, name: string) => admin('POST', `/v1/tenants/${tenant}/destinations?skipTest=true`, { name, type: 'http', url: `http://127.0.0.1:9/${tenant}/${name}`, exclude: ['auditstream.*'] });
  const names = async (tenant: string) => ((await admin('GET', `/v1/tenants/${tenant}/destinations`)).body.destinations as { name: string }[]).map((d) => d.name);

  for (const [tenant, name] of [['acme', 'd0'], ['acme', 'd1'], ['globex', 'd0']]) assert.equal((await add(tenant!, name!)).status, 201);
  assert.equal((await add('acme', 'd2')).body.code, 'QUOTA_EXCEEDED');
  assert.equal((await add('globex', 'd1')).status, 201, "acme's destinations do not count against globex's quota");
  assert.deepEqual(await names('acme'), ['d0', 'd1']);
  assert.deepEqual(await names('globex'), ['d0', 'd1']);

  assert.equal((await admin('DELETE', '/v1/tenants/acme/destinations/d0?backlog=discard')).status, 200);
  assert.equal((await add('acme', 'd2')).status, 201, 'a deleted destination frees its slot');
  assert.deepEqual(await names('acme'), ['d1', 'd2']);

  // As DELETE /v1/tenants/globex?force=true does (the tenants' own API is another part's; this file adds tenants to the store).
  assert.equal(await server.pipeline.tenancy.store.deleteTenant('globex'), true);
  await server.pipeline.destinations.removeTenant('globex');
  await addTenant(server.pipeline, 'globex', { maxDestinations: 2 });
  assert.deepEqual(await names('globex'), [], 'a tenant created again under a deleted one’s id starts with none of its destinations');
  assert.equal((await add('globex', 'd0')).status, 201);
  assert.deepEqual(await names('acme'), ['d1', 'd2']);
});
