import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord } from '../../src/formats/parse.js';
import { fixture } from './fixtures.js';

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
