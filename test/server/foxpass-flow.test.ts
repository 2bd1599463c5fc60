/**
 * The whole Foxpass flow of docs/tenants.md ("Walk-through"), on a real server
 * process, through its HTTP API only: tenant → key → CloudFormation template →
 * Test & Add a Kinesis destination → the tenant's events, and only its, in the
 * stream → pause → resume → delete. The stream is read back with the AWS SDK,
 * independently of auditstream.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMULATOR_CREDENTIALS, readAllRecords, startKinesalite } from '../support/kinesis-emulators.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startStsServer } from '../support/sts-server.js';
import { tempDir, waitFor } from '../support/temp.js';

const ADMIN = 'foxpass-flow-admin-key-0123456789';
const VENDOR_ACCOUNT = '123456789012';
/** What the tenant's stack would output as `roleArn`: the DeliveryRole CloudFormation names. */
const DELIVERY_ROLE = 'arn:aws:iam::210987654321:role/auditstream-acme-kinesis-DeliveryRole-1A2B3C4D';
const STREAM = 'audit-events';

interface Answer {
  status: number;
  body: any;
  text: string;
}

function client(server: ServerProcess, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: text === '' ? undefined : JSON.parse(text) };
  };
}

const login = (id: string) => ({ id, type: 'login', time: '2024-05-01T00:00:00Z', actor: 'alice', outcome: 'success' });

test('Foxpass flow: tenant, key, CloudFormation template, Test & Add a Kinesis destination, only its events, pause, resume, delete', async (t) => {
  const kinesis = await startKinesalite(t);
  const server = await startServer(t, {
    dataDir: await tempDir(t),
    config: {
      server: { apiKeys: [ADMIN] },
      tenants: {
        vendorPrincipal: VENDOR_ACCOUNT,
        // Kinesalite and the STS double listen on 127.0.0.1, which the policy refuses for tenants unless allowed; and they are
        // reached through endpoint overrides, which tenants may not set by default. A production config sets neither.
        destinationPolicy: { allowNetworks: ['127.0.0.1/32'], allowEndpointOverride: true },
      },
    },
    // The vendor's own credentials, which call sts:AssumeRole (in production: the instance or task role); kinesalite takes any key.
    env: { AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey },
  });
  const admin = client(server, ADMIN);

  // 1. The operator creates the tenant (and globex, the control) and gives acme a key.
  const acmeTenant = await admin('POST', '/v1/tenants', { id: 'acme', name: 'Acme Corp' });
  assert.equal(acmeTenant.status, 201, acmeTenant.text);
  const externalId: string = acmeTenant.body.externalId;
  const globexTenant = await admin('POST', '/v1/tenants', { id: 'globex', name: 'Globex' });
  assert.equal(globexTenant.status, 201, globexTenant.text);
  const acmeKey = await admin('POST', '/v1/tenants/acme/keys', { name: 'console', scopes: ['manage', 'read', 'ingest'] });
  assert.equal(acmeKey.status, 201, acmeKey.text);
  const globexKey = await admin('POST', '/v1/tenants/globex/keys', { name: 'console', scopes: ['manage', 'read', 'ingest'] });
  assert.equal(globexKey.status, 201, globexKey.text);
  const acme = client(server, acmeKey.body.key);
  const globex = client(server, globexKey.body.key);

  // 2. Acme fetches its template with its own key: the role trusts the vendor with acme's External ID only.
  const cfn = await acme('GET', '/v1/tenants/acme/cloudformation/kinesis');
  assert.equal(cfn.status, 200, cfn.text);
  assert.equal(cfn.body.stackName, 'auditstream-acme-kinesis');
  const trust = cfn.body.template.Resources.DeliveryRole.Properties.AssumeRolePolicyDocument.Statement[0];
  assert.deepEqual(trust.Condition, { StringEquals: { 'sts:ExternalId': externalId } });
  assert.ok(JSON.stringify(trust.Principal).includes(VENDOR_ACCOUNT), JSON.stringify(trust.Principal));
  assert.ok(!cfn.text.includes(globexTenant.body.externalId), "no other tenant's External ID");
  const outputs = Object.keys(cfn.body.template.Outputs).sort();
  assert.deepEqual(outputs, ['externalId', 'region', 'roleArn', 'streamArn', 'streamName']);
  assert.equal((await globex('GET', '/v1/tenants/acme/cloudformation/kinesis')).status, 404, "another tenant's template is not found");

  // 3. The stack, stood in for: kinesalite holds the stream (one shard, so order is visible), the STS double the role.
  await kinesis.createStream(STREAM, 1);
  // No STS emulator runs here; this double grants the delivery role only with acme's External ID, as the template's trust policy does.
  const sts = await startStsServer(t, { roleArn: DELIVERY_ROLE, externalId });
  // What the stack's Outputs would hold; the form takes streamName or streamArn, not both.
  const stackOutputs: Record<string, string> = { region: 'us-east-1', streamName: STREAM, streamArn: `arn:aws:kinesis:us-east-1:210987654321:stream/${STREAM}`, roleArn: DELIVERY_ROLE, externalId };
  const form = { ...Object.fromEntries(outputs.filter((k) => k !== 'streamArn').map((k) => [k, stackOutputs[k]])), endpoint: kinesis.endpoint, stsEndpoint: sts.endpoint };
  const destination = { name: 'audit-export', type: 'kinesis', ...form, lingerMs: 0 };

  // 4a. Test & Add with a wrong stream name: the failing step is named, nothing is saved.
  const wrongStream = await acme('POST', '/v1/tenants/acme/destinations', { ...destination, streamName: 'audit-event' });
  assert.equal(wrongStream.status, 422, wrongStream.text);
  assert.equal(wrongStream.body.code, 'TEST_FAILED');
  const failedStep = wrongStream.body.steps.find((s: { ok: boolean }) => !s.ok);
  assert.match(failedStep.step, /describe stream audit-event/);
  assert.match(failedStep.detail, /not found/);
  // 4b. Another tenant's External ID: refused before any AssumeRole, so auditstream cannot be made a confused deputy.
  const refused = await acme('POST', '/v1/tenants/acme/destinations', { ...destination, externalId: globexTenant.body.externalId });
  assert.equal(refused.status, 422, refused.text);
  assert.equal(refused.body.code, 'DESTINATION_NOT_ALLOWED');
  assert.equal(refused.body.key, 'externalId');
  assert.deepEqual((await acme('GET', '/v1/tenants/acme/destinations')).body, { destinations: [] });

  // 4c. Test & Add with the stack's Outputs: every step passes, saved and running. The External ID may be left out:
  // the server assumes the role with acme's own whatever is sent (the STS double checks it below).
  const added = await acme('POST', '/v1/tenants/acme/destinations', { ...destination, externalId: undefined });
  assert.equal(added.status, 201, added.text);
  assert.ok(added.body.steps.every((s: { ok: boolean }) => s.ok), added.text);
  assert.equal(added.body.destination.state, 'active');
  assert.ok(sts.calls.length > 0 && sts.calls.every((c) => c.granted && c.externalId === externalId), 'auditstream assumed the role, with acme’s External ID only');

  // 5. Acme's events, and globex's: only acme's reach acme's stream, each one once, as JSON lines.
  const ingest = async (as: typeof acme, ids: string[]) => {
    const res = await as('POST', '/v1/events', ids.map(login));
    assert.equal(res.status, 202, res.text);
  };
  await ingest(acme, ['a1', 'a2', 'a3']);
  await ingest(globex, ['g1', 'g2']);
  const onStream = async () => (await readAllRecords(kinesis.client, STREAM)).map((r) => JSON.parse(r.data.toString('utf8')) as { id: string; type: string; tenant?: string });
  const logins = async () => (await onStream()).filter((e) => e.type === 'login').map((e) => e.id);
  await waitFor(async () => (await logins()).length >= 3, "acme's events on the stream");
  await waitFor(async () => (await admin('GET', '/v1/events?type=login&tenant=globex')).body.events.length === 2, "globex's events stored");
  assert.deepEqual(await logins(), ['a1', 'a2', 'a3']);
  const first = await onStream();
  assert.ok(first.every((e) => e.tenant === 'acme'), 'every record on the stream is acme’s');
  // Change events of acme are events of acme: the destination's own creation is routed to it (docs/tenants.md, Destinations).
  assert.equal(first[0]?.type, 'auditstream.destination.created', first.map((e) => e.type).join());

  // 6. Pause: acme's events are kept in the destination's backlog, nothing new reaches the stream.
  const paused = await acme('POST', '/v1/tenants/acme/destinations/audit-export/pause');
  assert.equal(paused.status, 200, paused.text);
  assert.equal(paused.body.state, 'paused');
  const recordsBefore = (await onStream()).length;
  await ingest(acme, ['p1', 'p2']);
  await ingest(acme, ['p3']);
  const held = await waitFor(async () => {
    const d = (await acme('GET', '/v1/tenants/acme/destinations/audit-export')).body;
    return d.health.backlog.events >= 3 ? d : null;
  }, 'the backlog holding the paused events');
  assert.equal(held.state, 'paused');
  assert.ok(held.health.backlog.bytes > 0, JSON.stringify(held.health));
  assert.equal((await onStream()).length, recordsBefore, 'nothing delivered while paused');

  // 7. Resume: the backlog arrives, in order, after what was there.
  const resumed = await acme('POST', '/v1/tenants/acme/destinations/audit-export/resume');
  assert.equal(resumed.body.state, 'active', resumed.text);
  await waitFor(async () => (await logins()).length >= 6, 'the backlog delivered after resume');
  assert.deepEqual(await logins(), ['a1', 'a2', 'a3', 'p1', 'p2', 'p3']);
  await waitFor(async () => (await onStream()).some((e) => e.type === 'auditstream.destination.resumed'), 'the resume, itself an event of acme');
  assert.ok((await onStream()).some((e) => e.type === 'auditstream.destination.paused'), 'the pause, queued with the backlog');

  // 8. Delete, discarding what is queued: those events and any later ones never reach the stream.
  await acme('POST', '/v1/tenants/acme/destinations/audit-export/pause');
  await ingest(acme, ['d1', 'd2']);
  await waitFor(async () => (await acme('GET', '/v1/tenants/acme/destinations/audit-export')).body.health.backlog.events >= 2, 'd1 and d2 queued');
  const deleted = await acme('DELETE', '/v1/tenants/acme/destinations/audit-export?backlog=discard');
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal(deleted.body.deleted, true);
  assert.ok(deleted.body.discardedEvents >= 2, deleted.text);
  assert.equal((await acme('GET', '/v1/tenants/acme/destinations/audit-export')).body.code, 'DESTINATION_NOT_FOUND');
  await ingest(acme, ['after-delete']);
  await waitFor(async () => (await acme('GET', '/v1/events?type=login')).body.events.some((e: { id: string }) => e.id === 'after-delete'), 'the later event stored');
  assert.deepEqual(await logins(), ['a1', 'a2', 'a3', 'p1', 'p2', 'p3'], 'discarded and later events are not delivered');

  // 9. Every step is an audit event of acme: searchable with acme's key, invisible to globex's.
  for (const type of ['created', 'paused', 'resumed', 'deleted'].map((s) => `auditstream.destination.${s}`)) {
    const mine = await acme('GET', `/v1/events?type=${type}`);
    assert.equal(mine.status, 200, mine.text);
    assert.ok(mine.body.events.length >= 1, `${type} searchable by acme`);
    assert.ok(mine.body.events.every((e: { tenant: string; actor: string }) => e.tenant === 'acme' && e.actor === acmeKey.body.id), mine.text);
    assert.deepEqual((await globex('GET', `/v1/events?type=${type}`)).body.events, [], `${type} invisible to globex`);
  }
  const deletion = (await acme('GET', '/v1/events?type=auditstream.destination.deleted')).body.events[0];
  assert.deepEqual(deletion.details, { action: 'destination.deleted', target: 'audit-export', backlog: 'discard', discardedEvents: deleted.body.discardedEvents });
});
