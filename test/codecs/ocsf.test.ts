import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeEvent } from '../../src/codecs/codec.js';
import type { AuditEvent } from '../../src/core/event.js';
import { parseRecord } from '../../src/formats/parse.js';
import { DEFAULT_PARSE_CONTEXT } from '../../src/formats/producer-format.js';
import { vpcFlowHeader } from '../../src/formats/vpc-flow/log-format.js';
import { record } from '../formats/fixtures.js';

type Ocsf = Record<string, any>;

/** Through the codec, as an emitter writes it. */
function ocsf(event: AuditEvent): Ocsf {
  return JSON.parse(encodeEvent(event, 'ocsf'));
}

function parsed(text: string, idHint = 'hint'): AuditEvent[] {
  return parseRecord({ text, idHint }, 'auto');
}

function seed(name: string): string {
  return readFileSync(new URL(`../fixtures/seeds/${name}`, import.meta.url), 'utf8').replace(/\n$/, '');
}

/** A Blitz record like Blitz's documented sample, as another event type. */
function blitz(type: string, extra: Record<string, unknown> = {}): AuditEvent {
  const rec = { ...JSON.parse(record('blitz-login.json')), type, ...extra };
  return parsed(JSON.stringify(rec))[0]!;
}

/** The classification triple and the type_uid rule every OCSF event obeys. */
function assertClass(o: Ocsf, classUid: number, activityId: number) {
  assert.equal(o.class_uid, classUid);
  assert.equal(o.activity_id, activityId);
  assert.equal(o.type_uid, classUid * 100 + activityId);
}

/** What every event carries whatever its class: nothing lost, ids kept for dedupe. */
function assertBase(o: Ocsf, e: AuditEvent) {
  assert.equal(o.time, Date.parse(e.time));
  assert.equal(o.raw_data, e.raw);
  assert.equal(o.metadata.uid, e.id);
  assert.equal(o.metadata.version, '1.1.0');
  assert.equal(o.metadata.original_time, e.time);
  assert.equal(o.severity_id, 1);
  assert.equal(o.status_id, { success: 1, failure: 2, unknown: 0 }[e.outcome]);
}

test('Foxpass LDAP bind is Authentication Logon: the username is the user, the bind DN its uid', () => {
  const [e] = parsed(seed('foxpass-ldap-bind.json'), 'shardId-000000000000:4959');
  const o = ocsf(e!);
  assertClass(o, 3002, 1);
  assertBase(o, e!);
  assert.equal(o.category_uid, 3);
  assert.equal(o.type_name, 'Authentication: Logon');
  assert.equal(o.time, Date.UTC(2018, 0, 15, 14, 29, 38, 175));
  assert.equal(o.status, 'Success');
  const user = { uid: 'uid=alice,ou=people,dc=example,dc=com', name: 'alice', type: 'user' };
  assert.deepEqual(o.user, user);
  assert.deepEqual(o.actor, { user });
  assert.deepEqual(o.service, { name: 'ldap' });
  assert.deepEqual(o.metadata.product, { name: 'Foxpass', vendor_name: 'Foxpass' });
  assert.equal(o.metadata.uid, 'shardId-000000000000:4959');
  assert.equal(o.unmapped, undefined, 'every Foxpass field has an OCSF attribute');
});

test('Foxpass bind of an unknown user is a failed Logon; the null username stays in unmapped', () => {
  const [e] = parsed(record('foxpass-ldap-bind-unknown-user.json'));
  const o = ocsf(e!);
  assertClass(o, 3002, 1);
  assertBase(o, e!);
  assert.equal(o.status_id, 2);
  assert.equal(o.status, 'Failure');
  assert.equal(o.message, 'LDAP bind failed: user not found');
  assert.deepEqual(o.user, { uid: 'uid=mallory,ou=people,dc=example,dc=com' });
  assert.deepEqual(o.unmapped, { user_type: null, username: null });
});

test('Foxpass RADIUS authorize is a RADIUS Logon from the client address', () => {
  const [e] = parsed(record('foxpass-radius-authorize.json'));
  const o = ocsf(e!);
  assertClass(o, 3002, 1);
  assertBase(o, e!);
  assert.deepEqual(o.src_endpoint, { ip: '203.0.113.45' });
  assert.deepEqual(o.user, { name: 'alice' });
  assert.equal(o.auth_protocol_id, 10);
  assert.equal(o.auth_protocol, 'RADIUS');
});

test('Blitz login (logback line) is an OAuth Logon with session, address, user agent; the rest is unmapped', () => {
  const [e] = parsed(record('blitz-logback.log'));
  const o = ocsf(e!);
  assertClass(o, 3002, 1);
  assertBase(o, e!);
  assert.ok(o.raw_data.startsWith('2023-11-20 13:29:47,170 - [INFO]'), 'raw_data is the whole logback line');
  assert.equal(o.metadata.uid, '6056828858453673-600312119');
  assert.equal(o.time, 1700476187069);
  assert.deepEqual(o.user, { uid: 'BIP-123456' });
  assert.deepEqual(o.actor, { user: { uid: 'BIP-123456' } });
  assert.deepEqual(o.session, { uid: 'f8d85ba2-a26a-447f-b82e-944b9218abb8' });
  assert.deepEqual(o.src_endpoint, { ip: '213.230.116.179' });
  assert.equal(o.auth_protocol_id, 6);
  assert.match(o.http_request.user_agent, /^Mozilla\/5\.0 \(Macintosh/);
  assert.deepEqual(o.metadata.product, { name: 'Blitz Identity Provider', vendor_name: 'Identity Blitz' });
  const held = new Set(['user_agent']);
  for (const [k, v] of Object.entries(e!.details)) {
    if (!held.has(k)) assert.deepEqual(o.unmapped[k], v, `details.${k} is kept in unmapped`);
  }
});

test('Blitz event types land in their OCSF class and activity', () => {
  const cases: [string, number, number, string][] = [
    ['login', 3002, 1, 'Logon'],
    ['auth', 3002, 1, 'Logon'],
    ['login_stopped', 3002, 1, 'Logon'],
    ['logout', 3002, 2, 'Logoff'],
    ['registration', 3001, 1, 'Create'],
    ['user_password_changed', 3001, 3, 'Password Change'],
    ['reset_user_password', 3001, 4, 'Password Reset'],
    ['internal_user_deleted', 3001, 6, 'Delete'],
    ['user_locked', 3001, 9, 'Lock'],
    ['user_unlocked', 3001, 99, 'Unlock'],
    ['admin_added', 3001, 1, 'Create'],
    ['admin_removed', 3001, 6, 'Delete'],
    ['totp_attached', 3001, 10, 'MFA Factor Enable'],
    ['web_authn_revoke_key', 3001, 11, 'MFA Factor Disable'],
    ['token_granted', 0, 99, 'token_granted'],
  ];
  for (const [type, classUid, activityId, activityName] of cases) {
    const o = ocsf(blitz(type));
    assert.deepEqual([o.class_uid, o.activity_id, o.type_uid, o.activity_name], [classUid, activityId, classUid * 100 + activityId, activityName], type);
  }
});

test('Blitz failures: login_failed and auth_failed are failed Logons, the error is the status detail', () => {
  for (const type of ['login_failed', 'auth_failed']) {
    const e = blitz(type, { error: 'invalid_credentials', used_login: 'alice' });
    const o = ocsf(e);
    assertClass(o, 3002, 1);
    assertBase(o, e);
    assert.equal(o.status_id, 2);
    assert.equal(o.status_detail, 'invalid_credentials');
    assert.deepEqual(o.user, { uid: 'BIP-123456', name: 'alice' });
    assert.equal(o.unmapped.error, undefined, 'error is held by status_detail');
  }
});

test('Blitz account change: object_id is the account changed, subject_id the actor', () => {
  const e = blitz('reset_user_password', { subject_id: 'BIP-admin', object_id: 'BIP-777' });
  const o = ocsf(e);
  assertClass(o, 3001, 4);
  assertBase(o, e);
  assert.equal(o.category_name, 'Identity & Access Management');
  assert.deepEqual(o.user, { uid: 'BIP-777' });
  assert.deepEqual(o.actor, { user: { uid: 'BIP-admin' }, session: { uid: 'f8d85ba2-a26a-447f-b82e-944b9218abb8' } });
  assert.deepEqual(o.src_endpoint, { ip: '213.230.116.179' });
});

test('Temporal DeleteUser is API Activity Delete by the principal, proxies as intermediate addresses', () => {
  const [e] = parsed(seed('temporal-delete-user.json'));
  const o = ocsf(e!);
  assertClass(o, 6003, 4);
  assertBase(o, e!);
  assert.equal(o.category_uid, 6);
  assert.equal(o.time, Date.UTC(2023, 10, 14, 7, 56, 55));
  assert.equal(o.metadata.uid, '0mc69c0323b871293ce231dd1c7fb639');
  assert.equal(o.metadata.event_code, 'DeleteUser');
  assert.deepEqual(o.api, { operation: 'DeleteUser', service: { name: 'Temporal Cloud' }, request: { uid: '445297d3-43a7-4793-8a04-1b1dd1999640' } });
  assert.deepEqual(o.actor, { user: { uid: '988cb80b-d6be-4bb5-9c87-d09f93f58ed3', name: 'user1@example.com', type: 'user', email_addr: 'user1@example.com' } });
  assert.deepEqual(o.src_endpoint, { ip: '10.1.2.3', intermediate_ips: ['10.4.5.6'] });
  assert.equal(o.status_code, 'OK');
  assert.deepEqual(o.unmapped, {
    level: 'LOG_LEVEL_INFO',
    category: 'LOG_CATEGORY_ADMIN',
    details: { target_users: ['d7dca96f-adcc-417d-aafc-e8f5d2ba9fe1'], search_attribute_update: {} },
  });
});

test('API activity comes from the operation verb: Create, Get/Describe/List, Update/Put/Set, Delete, else Other', () => {
  const rec = JSON.parse(record('temporal-delete-user.json'));
  const cases: [string, number, string][] = [
    ['CreateNamespace', 1, 'Create'],
    ['GetUsers', 2, 'Read'],
    ['ListNamespaces', 2, 'Read'],
    ['DescribeNamespace', 2, 'Read'],
    ['UpdateNamespace', 3, 'Update'],
    ['PutSearchAttribute', 3, 'Update'],
    ['SetUserNamespaceAccess', 3, 'Update'],
    ['DeleteNamespace', 4, 'Delete'],
    ['RenameCustomSearchAttribute', 99, 'RenameCustomSearchAttribute'],
    ['Settings', 99, 'Settings'],
  ];
  for (const [operation, activityId, activityName] of cases) {
    const o = ocsf(parsed(JSON.stringify({ ...rec, operation }))[0]!);
    assertClass(o, 6003, activityId);
    assert.equal(o.activity_name, activityName, operation);
    assert.equal(o.api.operation, operation);
  }
  const failed = ocsf(parsed(JSON.stringify({ ...rec, status: 'PERMISSION_DENIED' }))[0]!);
  assert.equal(failed.status_id, 2);
  assert.equal(failed.status_code, 'PERMISSION_DENIED');
});

test('CloudTrail API call is API Activity Read in the AWS cloud; the IAM identity is the actor', () => {
  // The published sample blanked sourceIPAddress; CloudTrail always writes one.
  const [e] = parsed(JSON.stringify({ ...JSON.parse(record('cloudtrail-describe-event-aggregates.json')), sourceIPAddress: '192.0.2.44' }));
  const o = ocsf(e!);
  assertClass(o, 6003, 2);
  assertBase(o, e!);
  assert.equal(o.metadata.uid, 'eb8c077f-321d-471a-b207-849f5089a428');
  // The AWS account is the cloud's, not the auditstream tenant's: it is taken from details, and only once.
  assert.equal(o.metadata.tenant_uid, undefined);
  assert.deepEqual(o.metadata.profiles, ['cloud']);
  assert.deepEqual(o.cloud, { provider: 'AWS', region: 'us-east-1', account: { uid: '921045424829' } });
  assert.equal(o.unmapped?.recipientAccountId, undefined);
  assert.deepEqual(o.api, { operation: 'DescribeEventAggregates', request: { uid: '1a712381-62d1-4485-8ce5-109930945c62' } });
  assert.deepEqual(o.actor.user, {
    uid: 'arn:aws:iam::1234567890AB:root',
    uid_alt: '921045424829',
    type: 'Root',
    account: { uid: '111115424829' },
    credential_uid: 'ASIA1234567890ABCDEF',
  });
  assert.deepEqual(o.src_endpoint, { ip: '192.0.2.44' });
  assert.deepEqual(o.unmapped.requestParameters, e!.details.requestParameters);
  assert.deepEqual(o.unmapped.userIdentity, e!.details.userIdentity);
});

test('CloudTrail log file: a denied DeleteBucket is a failed API Delete; ConsoleLogin is an Authentication Logon', () => {
  const [describe, del, login] = parsed(record('cloudtrail-log-file.json'));
  assertClass(ocsf(describe!), 0, 99);

  const d = ocsf(del!);
  assertClass(d, 6003, 4);
  assertBase(d, del!);
  assert.equal(d.status_id, 2);
  assert.equal(d.status_code, 'AccessDenied');
  assert.deepEqual(d.api.response, { error: 'AccessDenied', error_message: 'Access Denied' });
  assert.deepEqual(d.api.service, { name: 's3.amazonaws.com' });
  assert.deepEqual(d.src_endpoint, { ip: '198.51.100.23' });
  assert.equal(d.actor.user.name, 'alice');
  assert.equal(d.http_request.user_agent, 'aws-cli/2.1.39 Python/3.8.8 Linux/5.4.0');

  const l = ocsf(login!);
  assertClass(l, 3002, 1);
  assertBase(l, login!);
  assert.equal(l.status_id, 2);
  assert.equal(l.message, 'Failed authentication');
  assert.deepEqual(l.user, { uid: 'AIDACKCEVSQ6C2EXAMPLE', name: 'bob', type: 'IAMUser', account: { uid: '111122223333' } });
  assert.deepEqual(l.src_endpoint, { ip: '203.0.113.77' });
  assert.deepEqual(l.service, { name: 'signin.amazonaws.com' });
  assert.equal(l.is_mfa, false);
  assert.equal(l.metadata.event_code, 'ConsoleLogin');
});

test('CloudTrail: a sourceIPAddress that is no address (an AWS service, AWS Internal) is the source endpoint svc_name', () => {
  const sample = JSON.parse(record('cloudtrail-describe-event-aggregates.json'));
  for (const sourceIPAddress of ['ec2.amazonaws.com', 'AWS Internal']) {
    const o = ocsf(parsed(JSON.stringify({ ...sample, eventName: 'CreateGrant', sourceIPAddress }))[0]!);
    assertClass(o, 6003, 1);
    assert.deepEqual(o.src_endpoint, { svc_name: sourceIPAddress });
    assert.equal(o.unmapped.sourceIPAddress, undefined);
  }
});

test('CloudTrail: an AWS service acting for the caller is actor.invoked_by; an identity without a name, ARN or account is no user', () => {
  const [, deleteBucket] = JSON.parse(record('cloudtrail-log-file.json')).Records;
  const userIdentity = { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' };
  const o = ocsf(parsed(JSON.stringify({ ...deleteBucket, userIdentity }))[0]!);
  assertClass(o, 6003, 4);
  assert.deepEqual(o.actor, { invoked_by: 'ec2.amazonaws.com' });
  assert.deepEqual(o.unmapped.userIdentity, userIdentity);
});

test('CloudTrail: a call whose sourceIPAddress is blank is a Base Event, since API Activity requires the caller endpoint', () => {
  const [e] = parsed(record('cloudtrail-describe-event-aggregates.json'));
  const o = ocsf(e!);
  assertClass(o, 0, 99);
  assertBase(o, e!);
  assert.equal(o.activity_name, 'cloudtrail.DescribeEventAggregates');
  assert.deepEqual(o.metadata.product, { name: 'CloudTrail', vendor_name: 'AWS' });
  assert.equal(o.unmapped.sourceIPAddress, '');
  assert.equal(o.unmapped.sessionId, 'ASIA1234567890ABCDEF');
  assert.deepEqual(o.unmapped.requestParameters, e!.details.requestParameters);
});

test('CloudTrail digest file: a Base Event whose account stays in unmapped, never the auditstream tenant', () => {
  const [e] = parsed(record('cloudtrail-digest.json'));
  assert.equal(e!.tenant, undefined);
  const o = ocsf(e!);
  assertClass(o, 0, 99);
  assert.equal(o.metadata.tenant_uid, undefined);
  assert.equal(o.unmapped.awsAccountId, '111122223333');
});

test('VPC flow records are Network Activity Traffic; ACCEPT and REJECT set action and disposition', () => {
  const lines = record('vpc-flow.log').split('\n');
  const [reject, accept, nodata] = lines.map((line, i) => parsed(line, `s3://flow/k:${i + 1}`)[0]!);

  const r = ocsf(reject!);
  assertClass(r, 4001, 6);
  assertBase(r, reject!);
  assert.equal(r.category_uid, 4);
  assert.equal(r.raw_data, lines[0]);
  assert.equal(r.metadata.uid, 's3://flow/k:1');
  assert.deepEqual(r.src_endpoint, { ip: '198.51.100.7', port: 22898 });
  assert.deepEqual(r.dst_endpoint, { ip: '172.31.16.139', port: 22717 });
  assert.deepEqual(r.connection_info, { protocol_num: 6, protocol_name: 'tcp', direction_id: 0, direction: 'Unknown' });
  assert.deepEqual(r.traffic, { packets: 1, bytes: 40 });
  assert.equal(r.start_time, 1619538050000);
  assert.equal(r.end_time, 1619538102000);
  assert.equal(r.time, 1619538050000);
  assert.deepEqual([r.action_id, r.disposition_id, r.status_id], [2, 2, 2]);
  // The flow log's account-id is AWS's account, not the auditstream tenant.
  assert.deepEqual(r.cloud, { provider: 'AWS', account: { uid: '311111777194' } });
  assert.equal(r.metadata.tenant_uid, undefined);
  assert.deepEqual(r.unmapped, { version: 2, 'interface-id': 'eni-054c755e644dcf32d' });

  const a = ocsf(accept!);
  assertClass(a, 4001, 6);
  assert.deepEqual([a.action_id, a.action, a.disposition_id, a.disposition, a.status_id], [1, 'Allowed', 1, 'Allowed', 1]);

  const n = ocsf(nodata!);
  assertClass(n, 0, 99);
  assertBase(n, nodata!);
  assert.equal(n.activity_name, 'vpc.nodata');
  assert.deepEqual(n.unmapped, nodata!.details);
});

test('flow records of later versions give OCSF their direction, TCP flags, IP version, region and zone', () => {
  const tgw = ocsf(parsed(record('vpc-flow-tgw.log'))[0]!);
  assertClass(tgw, 4001, 6);
  assert.deepEqual(tgw.connection_info, { protocol_num: 6, protocol_name: 'tcp', protocol_ver_id: 4, tcp_flags: 3, direction_id: 1, direction: 'Inbound' });
  assert.deepEqual(tgw.cloud, { provider: 'AWS', region: 'us-east-1', account: { uid: '123456789012' } });
  // Transit gateways record no action: neither allowed nor denied.
  assert.deepEqual([tgw.action_id, tgw.disposition_id], [0, 0]);
  assert.equal(tgw.unmapped['tgw-id'], 'tgw-0a1b2c3d4e5f67890');
  assert.equal(tgw.unmapped['flow-direction'], undefined);

  const header = 'version account-id srcaddr dstaddr protocol start action log-status flow-direction type az-id region';
  const line = '5 123456789012 2001:db8::5 2001:db8:1::40 17 1700000000 ACCEPT OK egress IPv6 use1-az1 us-east-1';
  const [e] = parseRecord({ text: line, idHint: 'h' }, 'vpc-flow', { ...DEFAULT_PARSE_CONTEXT, vpcFlow: vpcFlowHeader(header)! });
  const o = ocsf(e!);
  assert.deepEqual(o.connection_info, { protocol_num: 17, protocol_name: 'udp', protocol_ver_id: 6, direction_id: 2, direction: 'Outbound' });
  assert.deepEqual(o.cloud, { provider: 'AWS', region: 'us-east-1', zone: 'use1-az1', account: { uid: '123456789012' } });
  assert.deepEqual(o.unmapped, { version: 5 });
});

test('an event no class fits is a Base Event that keeps every canonical field and detail', () => {
  const [e] = parseRecord(
    {
      text: JSON.stringify({ type: 'deploy.finished', time: '2024-05-01T12:00:00+02:00', outcome: 'success', actor: 'ci-bot', clientIp: '192.0.2.9', sessionId: 's-1', tenant: 'acme', service: 'ci', message: 'deployed', build: 42 }),
      idHint: 'h-1',
      origin: { stream: 'audit', shardId: 'shardId-000000000001' },
    },
    'auto',
  );
  const o = ocsf(e!);
  assertClass(o, 0, 99);
  assertBase(o, e!);
  assert.equal(o.class_name, 'Base Event');
  assert.equal(o.activity_name, 'deploy.finished');
  assert.equal(o.type_name, 'Base Event: Other');
  assert.equal(o.message, 'deployed');
  assert.equal(o.metadata.tenant_uid, 'acme');
  assert.equal(o.metadata.log_name, 'audit');
  assert.deepEqual(o.metadata.product, { name: 'ci', vendor_name: 'Unknown' }, 'OCSF requires a vendor; the record names none');
  assert.deepEqual(o.unmapped, {
    build: 42,
    actor: 'ci-bot',
    clientIp: '192.0.2.9',
    sessionId: 's-1',
    service: 'ci',
    origin: { stream: 'audit', shardId: 'shardId-000000000001' },
  });
});

test('event types named like Object.prototype members are Base Events, not a crash', () => {
  for (const type of ['constructor', 'toString', '__proto__']) {
    const [e] = parsed(JSON.stringify({ eventType: type, timestamp: 1700000000000 }));
    assertClass(ocsf(e!), 0, 99);
  }
});

test('a "__proto__" detail stays in unmapped like any other', () => {
  const [e] = parseRecord({ text: '{"type":"x","time":"2024-01-01T00:00:00Z","__proto__":{"admin":true},"note":"n"}' }, 'generic');
  const unmapped = ocsf(e!).unmapped as Record<string, unknown>;
  assert.ok(Object.hasOwn(unmapped, '__proto__'));
  assert.deepEqual(JSON.parse(JSON.stringify(unmapped)).__proto__, { admin: true });
  assert.equal(unmapped.note, 'n');
});

test('a clientIp that is no IP address is not src_endpoint.ip: it stays in unmapped', () => {
  const [e] = parsed(JSON.stringify({ type: 'login', time: '2024-05-01T12:00:00Z', actor: 'alice', clientIp: 'gateway.internal' }));
  const o = ocsf(e!);
  assertClass(o, 3002, 1);
  assert.equal(o.src_endpoint, undefined);
  assert.equal(o.unmapped.clientIp, 'gateway.internal');
  assert.deepEqual(o.metadata.product, { name: 'generic', vendor_name: 'Unknown' });
});

test('Temporal: a caller list with something other than addresses stays whole in unmapped', () => {
  const rec = JSON.parse(record('temporal-delete-user.json'));
  const o = ocsf(parsed(JSON.stringify({ ...rec, caller_ip_address: '10.1.2.3, proxy.internal' }))[0]!);
  assertClass(o, 6003, 4);
  assert.deepEqual(o.src_endpoint, { ip: '10.1.2.3' });
  assert.equal(o.unmapped.caller_ip_address, '10.1.2.3, proxy.internal');
});

test('an event without what its class requires is a Base Event that keeps everything', () => {
  // Authentication requires a user, Network Activity both endpoints, API Activity the actor and the caller's endpoint.
  const cases: [object, string][] = [
    [{ type: 'login', time: '2024-05-01T12:00:00Z', clientIp: '192.0.2.9' }, 'clientIp'],
    [{ type: 'vpc.flow', time: '2024-05-01T12:00:00Z', clientIp: '192.0.2.9', srcport: 443 }, 'srcport'],
    [{ type: 'temporal.DeleteUser', time: '2024-05-01T12:00:00Z', actor: 'alice' }, 'actor'],
  ];
  for (const [rec, kept] of cases) {
    const [e] = parsed(JSON.stringify(rec));
    const o = ocsf(e!);
    assertClass(o, 0, 99);
    assertBase(o, e!);
    assert.equal(o.activity_name, (rec as { type: string }).type);
    assert.ok(o.unmapped[kept] !== undefined, `${kept} is kept in unmapped`);
  }
});
