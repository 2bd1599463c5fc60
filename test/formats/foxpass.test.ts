import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidEventError } from '../../src/core/errors.js';
import { FOXPASS_EVENT_TYPES } from '../../src/formats/foxpass/event-types.js';
import { parseRecord } from '../../src/formats/parse.js';
import { record } from './fixtures.js';

test('Foxpass LDAP bind maps every field: username is the actor, bind_dn and user_type stay in details', () => {
  const text = record('foxpass-ldap-bind.json');
  const [e] = parseRecord({ text, idHint: 'shardId-000000000000:49590338271490256608559692538361571095921575989136588898' }, 'foxpass');
  assert.deepEqual(e, {
    id: 'shardId-000000000000:49590338271490256608559692538361571095921575989136588898',
    time: '2018-01-15T14:29:38.175Z',
    type: 'ldap.bind',
    source: 'foxpass',
    service: 'ldap',
    outcome: 'success',
    actor: 'alice',
    message: 'LDAP bind succeeded',
    details: { bind_dn: 'uid=alice,ou=people,dc=example,dc=com', user_type: 'user' },
    raw: text,
  });
  assert.ok(Object.hasOwn(FOXPASS_EVENT_TYPES, e!.type));
});

test('Foxpass LDAP bind of an unknown user: actor falls back to bind_dn, the null username and user_type are kept', () => {
  const text = record('foxpass-ldap-bind-unknown-user.json');
  const [e] = parseRecord({ text, idHint: 'h' }, 'foxpass');
  assert.deepEqual(e, {
    id: 'h',
    time: '2018-01-15T14:30:02.912Z',
    type: 'ldap.bind',
    source: 'foxpass',
    service: 'ldap',
    outcome: 'failure',
    actor: 'uid=mallory,ou=people,dc=example,dc=com',
    message: 'LDAP bind failed: user not found',
    details: { bind_dn: 'uid=mallory,ou=people,dc=example,dc=com', user_type: null, username: null },
    raw: text,
  });
});

test('Foxpass RADIUS authorize: ipAddress is the client address', () => {
  const text = record('foxpass-radius-authorize.json');
  const [e] = parseRecord({ text, idHint: 'h', origin: { stream: 'foxpass-logs' } }, 'foxpass');
  assert.deepEqual(e, {
    id: 'h',
    time: '2018-01-15T14:31:11.004Z',
    type: 'radius.authorize',
    source: 'foxpass',
    service: 'radius',
    outcome: 'success',
    actor: 'alice',
    clientIp: '203.0.113.45',
    message: 'RADIUS authorization succeeded',
    details: {},
    origin: { stream: 'foxpass-logs' },
    raw: text,
  });
  assert.ok(Object.hasOwn(FOXPASS_EVENT_TYPES, e!.type));
});

test('Foxpass record without a hint gets a UUIDv7 id', () => {
  const [e] = parseRecord({ text: record('foxpass-ldap-bind.json') }, 'foxpass');
  assert.match(e!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('Foxpass errors name the bad field', () => {
  const base = JSON.parse(record('foxpass-ldap-bind.json')) as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...base, success: 'yes' }, /^success: expected true or false, got "yes"$/],
    [{ ...base, timestamp: '15/01/2018 14:29' }, /^timestamp: cannot read "15\/01\/2018 14:29" as a time: use ISO 8601/],
    [{ ...base, method: '' }, /^method: expected a non-empty string/],
    [{ ...base, username: 42 }, /^username: expected a string, got 42$/],
  ];
  for (const [rec, message] of cases) {
    assert.throws(() => parseRecord({ text: JSON.stringify(rec) }, 'foxpass'), (err: unknown) => err instanceof InvalidEventError && message.test(err.message));
  }
  const { service: _omit, ...noService } = base;
  assert.throws(() => parseRecord({ text: JSON.stringify(noService) }, 'foxpass'), { message: 'service: missing' });
});

test('a producer-supplied id is used, so a retried record is recognised and stored once', () => {
  const line = '{"id":"fp-42","service":"ldap","method":"bind","message":"ok","timestamp":"2018-01-15 14:29:38.175","success":true,"bind_dn":"uid=a","user_type":"user","username":"a"}';
  const [first] = parseRecord({ text: line }, 'auto');
  const [again] = parseRecord({ text: line }, 'auto');
  assert.equal(first!.id, 'fp-42');
  assert.equal(again!.id, 'fp-42');
  assert.equal(first!.details.id, undefined, 'not repeated in details');
});
