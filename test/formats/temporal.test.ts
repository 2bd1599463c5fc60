import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toOcsf } from '../../src/codecs/ocsf.js';
import { parseRecord } from '../../src/formats/parse.js';
import { fixture, record } from './fixtures.js';

test('Temporal DeleteUser (published sample, verbatim): log_id is the id, principal.name the actor, the first caller address the client', () => {
  const text = fixture('temporal-delete-user.json');
  const [e] = parseRecord({ text }, 'temporal');
  assert.deepEqual(e, {
    id: '0mc69c0323b871293ce231dd1c7fb639',
    time: '2023-11-14T07:56:55.000Z',
    type: 'temporal.DeleteUser',
    source: 'temporal',
    outcome: 'success',
    actor: 'user1@example.com',
    clientIp: '10.1.2.3',
    details: {
      level: 'LOG_LEVEL_INFO',
      caller_ip_address: '10.1.2.3, 10.4.5.6',
      user_email: 'user1@example.com',
      details: { target_users: ['d7dca96f-adcc-417d-aafc-e8f5d2ba9fe1'], search_attribute_update: {} },
      status: 'OK',
      category: 'LOG_CATEGORY_ADMIN',
      request_id: '445297d3-43a7-4793-8a04-1b1dd1999640',
      principal: { id: '988cb80b-d6be-4bb5-9c87-d09f93f58ed3', type: 'user', name: 'user1@example.com' },
    },
    raw: text,
  });
});

test('Temporal outcome: any status but OK is a failure, a missing status is unknown', () => {
  const seed = JSON.parse(fixture('temporal-delete-user.json')) as Record<string, unknown>;
  const denied = parseRecord({ text: JSON.stringify({ ...seed, status: 'PERMISSION_DENIED' }) }, 'temporal')[0]!;
  assert.equal(denied.outcome, 'failure');
  assert.equal(denied.details.status, 'PERMISSION_DENIED');
  const { status: _omit, ...noStatus } = seed;
  assert.equal(parseRecord({ text: JSON.stringify(noStatus) }, 'temporal')[0]!.outcome, 'unknown');
});

test('Temporal without a principal: user_email is the actor, a single caller address is the client', () => {
  const seed = JSON.parse(fixture('temporal-delete-user.json')) as Record<string, unknown>;
  const { principal: _omit, log_id: _id, ...rest } = seed;
  const [e] = parseRecord({ text: JSON.stringify({ ...rest, caller_ip_address: '192.0.2.10' }), idHint: 'shard-1:42' }, 'temporal');
  assert.equal(e!.actor, 'user1@example.com');
  assert.equal(e!.clientIp, '192.0.2.10');
  assert.equal(e!.id, 'shard-1:42');
  assert.equal(e!.details.user_email, undefined);
});

test('Temporal errors name the bad field', () => {
  const seed = JSON.parse(fixture('temporal-delete-user.json')) as Record<string, unknown>;
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...seed, emit_time: 'soon' }) }, 'temporal'), { message: /^emit_time: cannot read "soon" as a time: use ISO 8601 with an offset/ });
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...seed, operation: 7 }) }, 'temporal'), { message: 'operation: expected a non-empty string, got 7' });
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...seed, principal: 'user1' }) }, 'temporal'), { message: 'principal: expected an object, got "user1"' });
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...seed, principal: { name: 5 } }) }, 'temporal'), { message: 'principal.name: expected a string, got 5' });
  assert.throws(() => parseRecord({ text: JSON.stringify({ ...seed, caller_ip_address: ['10.1.2.3'] }) }, 'temporal'), { message: 'caller_ip_address: expected a string, got an array' });
});

test('Temporal v2 (camelCase, emitTime as {seconds, nanos}): logId is the id, the first xForwardedFor address the client, rawDetails and version kept', () => {
  const text = record('temporal-v2-create-api-key.json');
  const [e] = parseRecord({ text }, 'auto');
  assert.deepEqual(e, {
    id: 'f1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    time: '2024-12-03T15:35:15.123Z',
    type: 'temporal.CreateAPIKey',
    source: 'temporal',
    outcome: 'success',
    actor: 'user1@example.com',
    clientIp: '203.0.113.7',
    details: {
      // The time slot holds milliseconds; the nanoseconds stay here.
      emitTime: { seconds: 1733240115, nanos: 123456789 },
      status: 'OK',
      principal: { type: 'user', id: '988cb80b-d6be-4bb5-9c87-d09f93f58ed3', name: 'user1@example.com' },
      xForwardedFor: '203.0.113.7, 10.4.5.6',
      requestId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      asyncOperationId: 'a5f0c1e2-3d4b-4c5a-9e8f-7b6a5d4c3b2a',
      category: 'LOG_CATEGORY_ADMIN',
      level: 'LOG_LEVEL_INFO',
      rawDetails: { spec: { ownerId: '988cb80b-d6be-4bb5-9c87-d09f93f58ed3', ownerType: 'user', displayName: 'ci-deployer', expiryTime: '2025-06-01T00:00:00Z', disabled: false } },
      version: 2,
    },
    raw: text,
  });
});

test('Temporal v2: x_forwarded_for is read like xForwardedFor, seconds may be a string, nanos may be absent', () => {
  const { xForwardedFor: _omit, ...seed } = JSON.parse(record('temporal-v2-create-api-key.json')) as Record<string, unknown>;
  const [e] = parseRecord({ text: JSON.stringify({ ...seed, x_forwarded_for: '198.51.100.4', emitTime: { seconds: '1733240115' } }) }, 'auto');
  assert.equal(e!.source, 'temporal');
  assert.equal(e!.clientIp, '198.51.100.4');
  assert.equal(e!.time, '2024-12-03T15:35:15.000Z');
  assert.equal(e!.details.x_forwarded_for, '198.51.100.4');
});

test('Temporal v2: a failed status is a failure, no logId takes the id hint, an RFC 3339 emitTime is read too', () => {
  const { logId: _omit, ...seed } = JSON.parse(record('temporal-v2-create-api-key.json')) as Record<string, unknown>;
  const [e] = parseRecord({ text: JSON.stringify({ ...seed, status: 'PERMISSION_DENIED', emitTime: '2024-12-03T15:35:15.5Z' }), idHint: 'shard-1:43' }, 'temporal');
  assert.equal(e!.outcome, 'failure');
  assert.equal(e!.id, 'shard-1:43');
  assert.equal(e!.time, '2024-12-03T15:35:15.500Z');
});

test('Temporal v1 and v2 records of one operation give the same canonical slots', () => {
  const v1 = parseRecord({ text: fixture('temporal-delete-user.json') }, 'auto')[0]!;
  const v2 = parseRecord({
    text: JSON.stringify({ logId: v1.id, emitTime: { seconds: Date.parse(v1.time) / 1000, nanos: 0 }, operation: 'DeleteUser', status: 'OK', principal: { type: 'user', name: 'user1@example.com' }, xForwardedFor: '10.1.2.3, 10.4.5.6', version: 2 }),
  }, 'auto')[0]!;
  for (const slot of ['id', 'time', 'type', 'source', 'outcome', 'actor', 'clientIp'] as const) assert.equal(v2[slot], v1[slot], slot);
});

test('Temporal v2 errors name the bad field', () => {
  const seed = JSON.parse(record('temporal-v2-create-api-key.json')) as Record<string, unknown>;
  const bad = (patch: Record<string, unknown>) => () => parseRecord({ text: JSON.stringify({ ...seed, ...patch }) }, 'temporal');
  assert.throws(bad({ emitTime: 1733240115 }), { message: 'emitTime: expected {seconds, nanos} or an RFC 3339 time, got 1733240115' });
  assert.throws(bad({ emitTime: { nanos: 5 } }), { message: 'emitTime.seconds: missing' });
  assert.throws(bad({ emitTime: { seconds: 1.5 } }), { message: 'emitTime.seconds: expected whole epoch seconds, got 1.5' });
  assert.throws(bad({ emitTime: { seconds: 1733240115, nanos: 1e9 } }), { message: 'emitTime.nanos: expected a whole number 0–999999999, got 1000000000' });
  assert.throws(bad({ emitTime: { seconds: 999_999_999_999 } }), { message: 'emitTime.seconds: 999999999999 is outside the years 0001–9999' });
  assert.throws(bad({ emitTime: { seconds: 4_102_444_800 } }), { message: /^emitTime: 2100-01-01T00:00:00\.000Z is more than 86400 s ahead/ });
  assert.throws(bad({ xForwardedFor: ['10.1.2.3'] }), { message: 'xForwardedFor: expected a string, got an array' });
  assert.throws(bad({ logId: 7 }), { message: /^logId: / });
});

test('Temporal v2 in OCSF: the xForwardedFor list (either spelling) fills src_endpoint, the principal the user', () => {
  const seed = JSON.parse(record('temporal-v2-create-api-key.json')) as Record<string, unknown>;
  const { xForwardedFor: list, ...snake } = seed;
  for (const rec of [seed, { ...snake, x_forwarded_for: list }]) {
    const ocsf = toOcsf(parseRecord({ text: JSON.stringify(rec) }, 'auto')[0]!);
    assert.deepEqual(ocsf.src_endpoint, { ip: '203.0.113.7', intermediate_ips: ['10.4.5.6'] });
    assert.deepEqual(ocsf.actor, { user: { uid: '988cb80b-d6be-4bb5-9c87-d09f93f58ed3', name: 'user1@example.com', type: 'user' } });
    const unmapped = ocsf.unmapped as Record<string, unknown>;
    assert.equal(unmapped.xForwardedFor, undefined);
    assert.equal(unmapped.x_forwarded_for, undefined);
    assert.equal(unmapped.version, 2);
  }
});
