import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { FatalError } from '../../src/core/errors.js';
import { kinesisSinkDefinition } from '../../src/sinks/kinesis/sink.js';
import { randomName } from '../support/temp.js';
import { EMULATOR_CREDENTIALS, auditEvents, readAllRecords, sendUntilDelivered, startKinesalite, testSinkContext } from '../support/kinesis-emulators.js';
import { startStsServer } from '../support/sts-server.js';
import { startThrottlingProxy } from '../support/throttling-proxy.js';

// As Foxpass does: the publisher assumes the customer's role with an external ID.
// No STS emulator exists here, so test/support/sts-server.ts is a minimal STS
// (Query API AssumeRole) double that checks RoleArn and ExternalId. The
// Kinesis side is a real kinesalite behind the recording proxy (quota far
// above the load, so it only records which access key signed each call).

const ROLE = 'arn:aws:iam::123456789012:role/auditstream-delivery';
const EXTERNAL_ID = 'fp-ext-7f3a9c';

async function setup(t: TestContext, externalId: string) {
  const emu = await startKinesalite(t);
  const stream = randomName('role');
  await emu.createStream(stream, 2);
  const proxy = await startThrottlingProxy(t, { upstream: emu.endpoint, recordsPerSecPerShard: 1_000_000 });
  const sts = await startStsServer(t, { roleArn: ROLE, externalId: EXTERNAL_ID });
  const config = kinesisSinkDefinition.schema.parse({
    streamName: stream,
    region: 'us-east-1',
    endpoint: proxy.endpoint,
    stsEndpoint: sts.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    roleArn: ROLE,
    externalId,
    sessionName: 'auditstream-test',
  });
  const sink = kinesisSinkDefinition.create(config, testSinkContext());
  t.after(() => sink.close());
  return { emu, stream, proxy, sts, sink };
}

test('the sink assumes the role with the external ID and signs every Kinesis call with the role credentials', async (t) => {
  const { emu, stream, proxy, sts, sink } = await setup(t, EXTERNAL_ID);
  const steps = await sink.check(new AbortController().signal);
  assert.deepEqual(steps[0] && [steps[0].step, steps[0].ok], [`assume role ${ROLE} with the external ID`, true]);
  assert.ok(steps.every((s) => s.ok), JSON.stringify(steps));

  const events = auditEvents(40);
  await sendUntilDelivered(sink, events);
  assert.equal((await readAllRecords(emu.client, stream)).length, events.length);

  assert.ok(sts.calls.length >= 1);
  for (const c of sts.calls) {
    assert.deepEqual([c.roleArn, c.externalId, c.sessionName, c.granted], [ROLE, EXTERNAL_ID, 'auditstream-test', true]);
    assert.equal(c.callerAccessKeyId, EMULATOR_CREDENTIALS.accessKeyId, 'AssumeRole is signed with the base credentials');
  }
  const kinesisKeys = new Set(proxy.requests.map((r) => r.accessKeyId));
  assert.ok(kinesisKeys.size >= 1);
  for (const k of kinesisKeys) assert.ok(sts.issuedAccessKeyIds.includes(k!), `Kinesis call signed with ${k}, an assumed-role key`);
  // Credentials are cached until close to expiry, not fetched per call.
  assert.ok(sts.calls.length <= 2, `${sts.calls.length} AssumeRole calls`);
});

test('a wrong external ID: check() fails at the assume-role step saying why, and send is fatal', async (t) => {
  const { proxy, sink } = await setup(t, 'not-the-right-one');
  const steps = await sink.check(new AbortController().signal);
  assert.equal(steps.length, 1, 'later steps are not attempted');
  assert.equal(steps[0]!.ok, false);
  assert.equal(steps[0]!.step, `assume role ${ROLE} with the external ID`);
  assert.match(steps[0]!.detail, /sts:AssumeRole denied for arn:aws:iam::123456789012:role\/auditstream-delivery/);
  assert.match(steps[0]!.detail, /externalId/);

  await assert.rejects(sink.send(auditEvents(3), new AbortController().signal), (err: unknown) => {
    assert.ok(err instanceof FatalError, String(err));
    assert.match(err.message, /sts:AssumeRole on arn:aws:iam::123456789012:role\/auditstream-delivery/);
    return true;
  });
  assert.equal(proxy.requests.filter((r) => r.operation === 'PutRecords').length, 0, 'nothing was sent to Kinesis');
});
