import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { assumeRoleProvider, awsClientConfig } from '../../src/aws/client.js';
import { classifyAwsError } from '../../src/aws/errors.js';
import { FatalError, RetriableError } from '../../src/core/errors.js';
import { startKinesalite } from '../support/kinesis-emulators.js';
import { startStsServer } from '../support/sts-server.js';
import { startThrottlingProxy } from '../support/throttling-proxy.js';

// STS here is test/support/sts-server.ts, a minimal AssumeRole double: no STS emulator is available.

const ROLE = 'arn:aws:iam::123456789012:role/reader';
const base = { region: 'us-east-1', credentials: { accessKeyId: 'AKIDBASE', secretAccessKey: 'secret' } };

test('awsClientConfig: HTTP/1.1 handler, few SDK attempts, static keys copied (the SDK annotates what it gets)', () => {
  const cfg = awsClientConfig({ ...base, endpoint: 'http://127.0.0.1:4567' });
  assert.ok(cfg.requestHandler instanceof NodeHttpHandler);
  assert.equal(cfg.maxAttempts, 2);
  assert.equal(cfg.endpoint, 'http://127.0.0.1:4567');
  assert.deepEqual(cfg.credentials, base.credentials);
  assert.notEqual(cfg.credentials, base.credentials);
  assert.equal(awsClientConfig({ region: 'eu-west-1' }).credentials, undefined, 'no keys: the default chain');
  assert.equal(typeof awsClientConfig({ ...base, roleArn: ROLE, externalId: 'x1' }).credentials, 'function');
});

// The caching is the SDK client's (it memoizes its credentials provider), so it is observed through a
// real client: a KinesisClient against kinesalite, behind the recording proxy that notes each call's access key.
async function roleClient(t: TestContext, durationSec: number) {
  const emu = await startKinesalite(t);
  const proxy = await startThrottlingProxy(t, { upstream: emu.endpoint, recordsPerSecPerShard: 1_000_000 });
  const sts = await startStsServer(t, { roleArn: ROLE, externalId: 'ext-1', durationSec });
  const client = new KinesisClient(
    awsClientConfig({ ...base, endpoint: proxy.endpoint, roleArn: ROLE, externalId: 'ext-1', sessionName: 'reader-test', stsEndpoint: sts.endpoint }),
  );
  t.after(() => client.destroy());
  return { client, proxy, sts };
}

test('assumed-role credentials are cached by the client and sign its calls', async (t) => {
  const { client, proxy, sts } = await roleClient(t, 3600);
  await client.send(new ListStreamsCommand({}));
  await client.send(new ListStreamsCommand({}));
  assert.equal(sts.calls.length, 1, 'one AssumeRole for two calls');
  assert.deepEqual(sts.calls[0], {
    roleArn: ROLE,
    externalId: 'ext-1',
    sessionName: 'reader-test',
    granted: true,
    callerAccessKeyId: 'AKIDBASE',
  });
  assert.deepEqual(
    proxy.requests.map((r) => r.accessKeyId),
    [sts.issuedAccessKeyIds[0], sts.issuedAccessKeyIds[0]],
  );
});

test('credentials within five minutes of expiry are re-assumed before the next call', async (t) => {
  // 120 s credentials are always inside the refresh margin, so every call gets new ones.
  const { client, proxy, sts } = await roleClient(t, 120);
  await client.send(new ListStreamsCommand({}));
  await client.send(new ListStreamsCommand({}));
  const [first, second] = proxy.requests.map((r) => r.accessKeyId);
  assert.ok(first && second && first !== second, `signed with ${first} then ${second}`);
  assert.ok(sts.issuedAccessKeyIds.includes(first) && sts.issuedAccessKeyIds.includes(second), 'both keys are assumed-role keys');
});

test('AssumeRole refused: FatalError naming the role and the external ID', async (t) => {
  const sts = await startStsServer(t, { roleArn: ROLE, externalId: 'right' });
  const provider = assumeRoleProvider({ ...base, roleArn: ROLE, externalId: 'wrong', stsEndpoint: sts.endpoint });
  await assert.rejects(provider(), (err: unknown) => {
    assert.ok(err instanceof FatalError);
    assert.equal(err.code, 'AccessDenied');
    assert.match(err.message, /sts:AssumeRole on arn:aws:iam::123456789012:role\/reader with the configured externalId/);
    return true;
  });
});

test('classifyAwsError: throttling, 5xx and network are retriable; missing resources, access and KMS problems fatal', () => {
  const svc = (name: string, status?: number) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
  const cases: [unknown, typeof RetriableError | typeof FatalError][] = [
    [svc('ProvisionedThroughputExceededException', 400), RetriableError],
    [svc('LimitExceededException', 400), RetriableError],
    [svc('KMSThrottlingException', 400), RetriableError],
    [svc('InternalFailure', 500), RetriableError],
    [svc('SomethingNew', 503), RetriableError],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), RetriableError],
    [svc('ResourceNotFoundException', 400), FatalError],
    [svc('AccessDeniedException', 400), FatalError],
    [svc('KMSDisabledException', 400), FatalError],
    [svc('KMSNotFoundException', 400), FatalError],
    [svc('KMSSomethingElse', 400), FatalError],
    [svc('SomethingNew', 403), FatalError],
  ];
  for (const [err, cls] of cases) {
    const out = classifyAwsError(err, 'kinesis:PutRecords to stream audit');
    assert.ok(out instanceof cls, `${(err as Error).name}: ${out.constructor.name}`);
    assert.match(out.message, /^kinesis:PutRecords to stream audit: /);
  }
  const bug = new TypeError('x is not a function');
  assert.equal(classifyAwsError(bug, 'w'), bug, 'programming errors pass through');
});
