import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeEvent } from '../../src/codecs/codec.js';
import type { AuditEvent } from '../../src/core/event.js';
import { parseRecord } from '../../src/formats/parse.js';
import { readRecord } from '../../src/formats/read-record.js';
import { record } from '../formats/fixtures.js';
import { officialOcsf, problemText } from '../support/ocsf-schema.js';

// The official schema sits beside the repository (../shared/ocsf), never inside it.
const official = officialOcsf(join(import.meta.dirname, '..', '..', '..', 'shared', 'ocsf'));
const skip = 'skip' in official ? official.skip : false;

const FIXTURES = new URL('../fixtures/formats/', import.meta.url);

/** Through the codec, as an emitter writes it. */
function ocsf(event: AuditEvent): Record<string, any> {
  return JSON.parse(encodeEvent(event, 'ocsf'));
}

/** Every problem the official schema finds in the event's OCSF form, errors and warnings alike. */
function problems(event: AuditEvent): string[] {
  if ('skip' in official) throw new Error(official.skip);
  return official.schema.validate(ocsf(event)).map((p) => `${p.severity} ${problemText(p)}`);
}

/** Asserts every event's OCSF form is valid, listing all problems at once; returns the classes seen so a test can say what it covered. */
function assertValid(events: readonly AuditEvent[], what: string): Set<number> {
  const classes = new Set<number>();
  const found: string[] = [];
  for (const e of events) {
    for (const p of problems(e)) found.push(`${e.type} (${e.id}): ${p}`);
    classes.add(ocsf(e).class_uid);
  }
  assert.deepEqual(found, [], what);
  return classes;
}

/** As a collector reads a transport unit: records no parser takes are kept as unparsed events. */
function collected(data: string | Buffer, idHint = 'shard:1'): AuditEvent[] {
  const { events, errors } = readRecord(typeof data === 'string' ? Buffer.from(data) : data, {
    decode: 'auto',
    parse: 'auto',
    keepUnparsed: true,
    idHint,
    origin: { stream: 'audit', shardId: 'shardId-000000000000' },
    timestampMs: Date.UTC(2024, 0, 1),
  });
  assert.deepEqual(errors, []);
  return events;
}

function parsed(rec: object): AuditEvent[] {
  return parseRecord({ text: JSON.stringify(rec), idHint: 'hint' }, 'auto');
}

test('every format fixture, read as a collector reads it, is valid OCSF 1.1.0', { skip }, () => {
  const names = readdirSync(FIXTURES).filter((f) => f !== 'README.md');
  const classes = new Set<number>();
  for (const name of names) {
    const events = collected(readFileSync(new URL(name, FIXTURES)), `s3://fixtures/${name}`);
    assert.ok(events.length > 0, name);
    for (const c of assertValid(events, name)) classes.add(c);
  }
  assert.deepEqual([...classes].sort((a, b) => a - b), [0, 3002, 4001, 6003], 'the fixtures give Base Event, Authentication, Network Activity and API Activity');
});

test('unparsed records (plain, from CloudWatch Logs, corrupt gzip) are valid Base Events', { skip }, () => {
  const plain = collected('this is no audit record');
  const cloudwatch = collected(
    gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        owner: '111122223333',
        logGroup: '/aws/lambda/app',
        logStream: '2024/01/01/[$LATEST]abc',
        subscriptionFilters: ['all'],
        logEvents: [{ id: '1', timestamp: Date.UTC(2024, 0, 1), message: 'START RequestId: 42 Version: $LATEST' }],
      }),
    ),
  );
  const corrupt = collected(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]));
  assert.deepEqual([...plain, ...cloudwatch, ...corrupt].map((e) => e.type), ['unparsed', 'cloudwatch.log', 'unparsed']);
  assert.deepEqual([...assertValid([...plain, ...cloudwatch, ...corrupt], 'unparsed')], [0]);
});

test('every Blitz and Foxpass event type, whatever class it lands in, is valid OCSF', { skip }, () => {
  const blitz = JSON.parse(record('blitz-login.json'));
  const types = [
    'login', 'auth', 'login_failed', 'login_stopped', 'auth_failed', 'logout', 'registration', 'admin_added',
    'internal_user_deleted', 'admin_removed', 'user_password_changed', 'admin_pswd_changed', 'reset_user_password',
    'recovery', 'recovery_fail', 'user_locked', 'user_unlocked', 'admin_roles_changed', 'totp_attached', 'hotp_attached',
    'duo_put', 'web_authn_reg_key', 'totp_detached', 'hotp_detached', 'duo_remove', 'web_authn_revoke_key', 'token_granted',
  ];
  const events = types.flatMap((type) => parsed({ ...blitz, type, error: type.endsWith('_failed') ? 'invalid_credentials' : undefined }));
  // The Blitz protocols: SAML, OAuth, and one OCSF has no id for.
  for (const protocol of ['SAML', 'simple']) events.push(...parsed({ ...blitz, protocol }));
  // A record without a subject: the account is known only by the login typed.
  const { subject_id: _s, object_id: _o, ...anonymous } = blitz;
  events.push(...parsed({ ...anonymous, type: 'login_failed', used_login: 'ivanov' }));
  assert.deepEqual([...assertValid(events, 'blitz')].sort(), [0, 3001, 3002]);

  const foxpass = ['foxpass-ldap-bind.json', 'foxpass-ldap-bind-unknown-user.json', 'foxpass-radius-authorize.json'].flatMap((f) => parsed(JSON.parse(record(f))));
  const other = parsed({ ...JSON.parse(record('foxpass-ldap-bind.json')), service: 'sso', method: 'login' });
  assert.deepEqual([...assertValid([...foxpass, ...other], 'foxpass')], [3002, 0]);
});

test('every CloudTrail shape is valid OCSF: API verbs, console sign-in, and each kind of sourceIPAddress', { skip }, () => {
  const sample = JSON.parse(record('cloudtrail-describe-event-aggregates.json'));
  const [, deleteBucket, consoleLogin] = JSON.parse(record('cloudtrail-log-file.json')).Records;
  const events: AuditEvent[] = [];
  for (const eventName of ['CreateGrant', 'GetObject', 'ListBuckets', 'UpdateTrail', 'PutObject', 'SetTopicAttributes', 'DeleteBucket', 'AssumeRole']) {
    events.push(...parsed({ ...deleteBucket, eventName }));
  }
  // An address, an AWS service acting for the caller, AWS's own console back end, and none at all.
  for (const sourceIPAddress of ['198.51.100.23', '2001:db8::7', 'ec2.amazonaws.com', 'AWS Internal', '', undefined]) {
    events.push(...parsed({ ...sample, sourceIPAddress }));
    events.push(...parsed({ ...consoleLogin, sourceIPAddress }));
  }
  events.push(...parsed({ ...consoleLogin, responseElements: { ConsoleLogin: 'Success' }, errorMessage: undefined, additionalEventData: { MFAUsed: 'Yes' } }));
  events.push(...parsed({ ...deleteBucket, userIdentity: { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' } }));
  const classes = assertValid(events, 'cloudtrail');
  assert.ok(classes.has(6003) && classes.has(3002), [...classes].join());
});

test('every Temporal shape is valid OCSF: verbs, failures, one or several callers or none', { skip }, () => {
  const rec = JSON.parse(record('temporal-delete-user.json'));
  const events: AuditEvent[] = [];
  for (const operation of ['CreateNamespace', 'GetUsers', 'UpdateNamespace', 'DeleteUser', 'RenameCustomSearchAttribute']) events.push(...parsed({ ...rec, operation }));
  for (const caller_ip_address of ['10.1.2.3', '10.1.2.3, 10.4.5.6, 10.7.8.9', 'gateway.internal', undefined]) events.push(...parsed({ ...rec, caller_ip_address }));
  events.push(...parsed({ ...rec, status: 'PERMISSION_DENIED' }));
  events.push(...parsed({ ...rec, principal: undefined, user_email: 'ops@example.com' }));
  events.push(...parsed({ ...rec, principal: { id: 'svc-1', type: 'serviceaccount', name: 'deployer' }, user_email: undefined }));
  assert.ok(assertValid(events, 'temporal').has(6003));
});

test('generic and auditstream events of every class, with every canonical field, are valid OCSF', { skip }, () => {
  const full = { time: '2024-05-01T12:00:00+02:00', outcome: 'success', actor: 'ci-bot', clientIp: '192.0.2.9', sessionId: 's-1', tenant: 'acme', service: 'ci', message: 'done', build: 42 };
  const events: AuditEvent[] = [];
  for (const type of ['login', 'logout', 'registration', 'user_unlocked', 'deploy.finished', 'vpc.flow', 'cloudtrail.DeleteBucket', 'temporal.DeleteUser']) {
    events.push(...parsed({ ...full, type }));
    events.push(...parsed({ type, time: full.time }));
  }
  events.push(...parsed({ ...full, type: 'vpc.flow', dstaddr: '198.51.100.7', srcport: 40000, dstport: 443, protocol: 6 }));
  // A producer's clientIp need not be an address.
  for (const clientIp of ['gateway.internal', 'unknown host', '2001:db8::1']) events.push(...parsed({ ...full, type: 'login', clientIp }));
  // auditstream's own JSON read back: the canonical event again.
  const canonical = parsed({ ...full, type: 'login' })[0]!;
  events.push(...parseRecord({ text: encodeEvent(canonical, 'json') }, 'auto'));
  assert.deepEqual([...assertValid(events, 'generic')].sort(), [0, 3001, 3002, 4001, 6003]);
});
