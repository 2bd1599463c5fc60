import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { assumeRoleProvider, awsClientConfig } from '../../src/aws/client.js';
import { classifyAwsError } from '../../src/aws/errors.js';
import { FatalError, RetriableError } from '../../src/core/errors.js';
import { startStsServer } from '../support/sts-server.js';

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

test('assumed-role credentials are cached, and re-assumed when they are close to expiry', async (t) => {
  const longLived = await startStsServer(t, { roleArn: ROLE, externalId: 'ext-1', durationSec: 3600 });
  const cached = assumeRoleProvider({ ...base, roleArn: ROLE, externalId: 'ext-1', stsEndpoint: longLived.endpoint });
  const a = await cached();
  const b = await cached();
  assert.equal(a.accessKeyId, b.accessKeyId);
  assert.equal(longLived.calls.length, 1);
  assert.ok(a.sessionToken && a.expiration);

  // Credentials that expire within the refresh margin (5 minutes) are replaced on the next call.
  const shortLived = await startStsServer(t, { roleArn: ROLE, externalId: 'ext-1', durationSec: 120 });
  const refreshing = assumeRoleProvider({ ...base, roleArn: ROLE, externalId: 'ext-1', stsEndpoint: shortLived.endpoint });
  const c = await refreshing();
  const d = await refreshing();
  assert.notEqual(c.accessKeyId, d.accessKeyId);
  assert.equal(shortLived.calls.length, 2);
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
