import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord, parseRecordSettled } from '../../src/formats/parse.js';
import { fixture, record } from './fixtures.js';

test('CloudTrail published sample: eventID, eventTime, eventName and account map to canonical slots; the rest is kept', () => {
  const text = record('cloudtrail-describe-event-aggregates.json');
  const [e] = parseRecord({ text }, 'cloudtrail');
  assert.deepEqual(e, {
    id: 'eb8c077f-321d-471a-b207-849f5089a428',
    time: '2021-04-28T21:13:07.000Z',
    type: 'cloudtrail.DescribeEventAggregates',
    source: 'cloudtrail',
    outcome: 'success',
    actor: 'arn:aws:iam::1234567890AB:root',
    sessionId: 'ASIA1234567890ABCDEF',
    tenant: '921045424829',
    details: {
      eventVersion: '1.08',
      userIdentity: {
        type: 'Root',
        principalId: '921045424829',
        arn: 'arn:aws:iam::1234567890AB:root',
        accountId: '111115424829',
        sessionContext: { sessionIssuer: {}, webIdFederationData: {}, attributes: { mfaAuthenticated: 'false', creationDate: '2021-04-28T20:37:47Z' } },
      },
      // The published sample blanked eventSource, sourceIPAddress and userAgent: empty strings fill no slot.
      eventSource: '',
      awsRegion: 'us-east-1',
      sourceIPAddress: '',
      userAgent: '',
      requestParameters: { aggregateField: 'eventTypeCategory', filter: { eventStatusCodes: ['open', 'upcoming'], startTimes: [{ from: 'Apr 21, 2021 9:13:07 PM' }] } },
      responseElements: null,
      requestID: '1a712381-62d1-4485-8ce5-109930945c62',
      readOnly: true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      eventCategory: 'Management',
    },
    raw: text,
  });
});

test('CloudTrail log file: one event per element, errorCode and failed console sign-in are failures', () => {
  const text = fixture('cloudtrail-log-file.json');
  const events = parseRecord({ text, idHint: 's3://trail/file.json.gz' }, 'cloudtrail');
  assert.equal(events.length, 3);
  const [seed, denied, login] = events;
  assert.equal(seed!.id, 'eb8c077f-321d-471a-b207-849f5089a428');
  // Each element's raw is that element's JSON, so a raw codec delivers one CloudTrail event per event.
  assert.deepEqual(JSON.parse(seed!.raw), JSON.parse(record('cloudtrail-describe-event-aggregates.json')));

  const { details: deniedDetails, raw: _raw, ...deniedCanonical } = denied!;
  assert.deepEqual(deniedCanonical, {
    id: '6e6f2b0a-56b1-4f6e-9d55-2e1f0f1b2c3d',
    time: '2021-04-28T21:20:31.000Z',
    type: 'cloudtrail.DeleteBucket',
    source: 'cloudtrail',
    service: 's3.amazonaws.com',
    outcome: 'failure',
    actor: 'arn:aws:iam::111122223333:user/alice',
    clientIp: '198.51.100.23',
    sessionId: 'AKIAIOSFODNN7EXAMPLE',
    tenant: '111122223333',
    message: 'Access Denied',
  });
  assert.equal(deniedDetails.errorCode, 'AccessDenied');
  assert.deepEqual(deniedDetails.userIdentity, {
    type: 'IAMUser',
    principalId: 'AIDAJ45Q7YFFAREXAMPLE',
    arn: 'arn:aws:iam::111122223333:user/alice',
    accountId: '111122223333',
    userName: 'alice',
  });

  assert.equal(login!.type, 'cloudtrail.ConsoleLogin');
  assert.equal(login!.outcome, 'failure');
  assert.equal(login!.actor, 'bob');
  assert.equal(login!.sessionId, undefined);
  assert.equal(login!.message, 'Failed authentication');
  assert.deepEqual(login!.details.additionalEventData, { LoginTo: 'https://console.aws.amazon.com/console/home', MobileVersion: 'No', MFAUsed: 'No' });
});

test('CloudTrail actor falls back from arn to userName to principalId; an AWS service as source is not a client address', () => {
  const base = JSON.parse(record('cloudtrail-describe-event-aggregates.json')) as Record<string, unknown>;
  const e = parseRecord({ text: JSON.stringify({ ...base, userIdentity: { type: 'AWSService', principalId: 'AIDAEXAMPLE' }, sourceIPAddress: 'ec2.amazonaws.com' }) }, 'cloudtrail')[0]!;
  assert.equal(e.actor, 'AIDAEXAMPLE');
  assert.equal(e.clientIp, undefined);
  assert.equal(e.details.sourceIPAddress, 'ec2.amazonaws.com');
});

test('CloudTrail log file with a bad element: the others are kept, the error names the element and field', () => {
  const file = JSON.parse(fixture('cloudtrail-log-file.json')) as { Records: Record<string, unknown>[] };
  delete file.Records[1]!.eventTime;
  const { events, failures } = parseRecordSettled({ text: JSON.stringify(file) }, 'cloudtrail');
  assert.deepEqual(events.map((e) => e.type), ['cloudtrail.DescribeEventAggregates', 'cloudtrail.ConsoleLogin']);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.error.message, 'Records[1]: eventTime: missing');
  assert.equal(JSON.parse(failures[0]!.input.text).eventName, 'DeleteBucket');
  assert.throws(() => parseRecord({ text: JSON.stringify(file) }, 'cloudtrail'), { message: 'Records[1]: eventTime: missing' });
});

test('CloudTrail errors name the bad field', () => {
  const base = JSON.parse(record('cloudtrail-describe-event-aggregates.json')) as Record<string, unknown>;
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...base, eventName: null }) }, 'cloudtrail'), { message: 'eventName: expected a non-empty string, got null' });
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...base, userIdentity: 'root' }) }, 'cloudtrail'), { message: 'userIdentity: expected an object, got "root"' });
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...base, userIdentity: { arn: 1 } }) }, 'cloudtrail'), { message: 'userIdentity.arn: expected a string, got 1' });
});
