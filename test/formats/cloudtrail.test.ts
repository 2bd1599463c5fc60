import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord, parseRecordSettled } from '../../src/formats/parse.js';
import { readRecord } from '../../src/formats/read-record.js';
import { fixture, record } from './fixtures.js';

test('CloudTrail published sample: eventID, eventTime and eventName map to canonical slots; the rest is kept, the AWS account in details, never as tenant', () => {
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
      recipientAccountId: '921045424829',
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
    message: 'Access Denied',
  });
  assert.equal(deniedDetails.errorCode, 'AccessDenied');
  assert.equal(deniedDetails.recipientAccountId, '111122223333');
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

test('CloudTrail Insights event: type cloudtrail.insight, the unusual API named by insightDetails, which is kept whole', () => {
  const text = fixture('cloudtrail-insight-start.json');
  const rec = JSON.parse(text) as Record<string, unknown>;
  const [e] = parseRecord({ text }, 'auto');
  const { eventID: _id, eventTime: _time, ...rest } = rec;
  assert.deepEqual(e, {
    id: '0a5e1c9d-2b7f-4c3e-8d61-4f0a9b2c7e15',
    time: '2024-05-14T09:00:00.000Z',
    type: 'cloudtrail.insight',
    source: 'cloudtrail',
    service: 'ssm.amazonaws.com',
    outcome: 'unknown',
    details: rest,
    raw: text,
  });
  assert.equal((e!.details.insightDetails as Record<string, unknown>).state, 'Start');
  assert.equal((e!.details.insightDetails as Record<string, unknown>).eventName, 'UpdateInstanceAssociationStatus');

  assert.throws(() => parseRecord({ text: JSON.stringify({ ...rec, insightDetails: 'Start' }) }, 'cloudtrail'), { message: 'insightDetails: expected an object, got "Start"' });
  const noState = { ...rec, insightDetails: { ...(rec.insightDetails as object), state: undefined } };
  assert.throws(() => parseRecord({ text: JSON.stringify(noState) }, 'cloudtrail'), { message: 'insightDetails.state: missing' });
});

test('CloudTrail digest file: recognised under parse: auto and kept as one cloudtrail.digest event, never unparsed', () => {
  const text = fixture('cloudtrail-digest.json');
  const rec = JSON.parse(text) as Record<string, unknown>;
  const read = readRecord(Buffer.from(text), { decode: 'auto', parse: 'auto', keepUnparsed: true, idHint: 's3://trail/digest.json.gz' });
  assert.equal(read.unparsed, 0);
  assert.deepEqual(read.errors, []);
  assert.equal(read.events.length, 1);
  const { digestEndTime: _end, ...rest } = rec;
  const { id, ...e } = read.events[0]!;
  assert.deepEqual(e, {
    time: '2024-05-14T09:01:31.000Z',
    type: 'cloudtrail.digest',
    source: 'cloudtrail',
    service: 'cloudtrail.amazonaws.com',
    outcome: 'unknown',
    details: rest,
    // The reader takes the S3 object as one JSON document: its trailing newline is no part of it.
    raw: record('cloudtrail-digest.json'),
  });
  // The digest's own S3 key, not where it was read from, gives the id: the same digest read twice dedupes.
  assert.equal(id, parseRecord({ text, idHint: 'elsewhere' }, 'cloudtrail')[0]!.id);
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...rec, digestEndTime: 'soon' }) }, 'cloudtrail'), { message: /^digestEndTime: cannot read "soon" as a time/ });
});

test('CloudTrail: a Failure response element fails any event; AWS services and Identity Center users are actors; "AWS Internal" is no address', () => {
  const [changePassword, assumeRole, listAccounts] = parseRecord({ text: fixture('cloudtrail-actors-log-file.json') }, 'auto');

  assert.equal(changePassword!.type, 'cloudtrail.ChangePassword');
  assert.equal(changePassword!.outcome, 'failure');
  assert.equal(changePassword!.actor, 'arn:aws:iam::111122223333:user/carol');
  assert.equal(changePassword!.clientIp, '203.0.113.17');

  assert.equal(assumeRole!.outcome, 'success');
  assert.equal(assumeRole!.actor, 'lambda.amazonaws.com');
  assert.equal(assumeRole!.clientIp, undefined);
  assert.equal(assumeRole!.details.sourceIPAddress, 'lambda.amazonaws.com');
  assert.deepEqual(assumeRole!.details.userIdentity, { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' });

  assert.equal(listAccounts!.actor, '94482488-3041-7026-18f3-be45837cd0e4');
  assert.equal(listAccounts!.clientIp, undefined);
  assert.equal(listAccounts!.details.sourceIPAddress, 'AWS Internal');
  assert.deepEqual((listAccounts!.details.userIdentity as Record<string, unknown>).onBehalfOf, {
    userId: '94482488-3041-7026-18f3-be45837cd0e4',
    identityStoreArn: 'arn:aws:identitystore::111122223333:identitystore/d-9067bc4d2e',
  });

  const base = JSON.parse(record('cloudtrail-describe-event-aggregates.json')) as Record<string, unknown>;
  // A response element saying anything but Failure is no failure.
  assert.equal(parseRecord({ text: JSON.stringify({ ...base, responseElements: { ChangePassword: 'Success' } }) }, 'cloudtrail')[0]!.outcome, 'success');
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...base, userIdentity: { type: 'IdentityCenterUser', onBehalfOf: 'u-1' } }) }, 'cloudtrail'), {
    message: 'userIdentity.onBehalfOf: expected an object, got "u-1"',
  });
  // A role session acting for an Identity Center user stays the actor: it is what holds the permissions.
  const session = { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/Analyst/u1', onBehalfOf: { userId: 'u-1' } };
  assert.equal(parseRecord({ text: JSON.stringify({ ...base, userIdentity: session }) }, 'cloudtrail')[0]!.actor, session.arn);
});
