import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidEventError } from '../../src/core/errors.js';
import { parseRecord } from '../../src/formats/parse.js';
import { record } from './fixtures.js';

/** Every attribute of Blitz's example log entry that has no canonical slot. */
const SEED_DETAILS = {
  ip_st: 'Tashkent',
  authnDone: 'true',
  process_id: 'b80ca03e-4718-44ff-9456-7d4255610eaa',
  ip_ctr: 'Узбекистан',
  object_id: 'BIP-123456',
  protocol: 'oAuth',
  auth_methods: 'cls:password',
  ch_platform_version: '"14.1.0"',
  ch_platform: '"macOS"',
  ip_ct: 'Tashkent',
  id_store: 'ldap01',
  ip_lng: '69.2494',
  ip_rad: '5',
  ch_ua: '"Google Chrome";v="119", "Chromium";v="119", "Not?A_Brand";v="24"',
  user_agent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
  lp_id: 'test-system',
  ip_lat: '41.3171',
  client_auth_method: 'redirectUri',
};

const SEED_EVENT = {
  id: '6056828858453673-600312119',
  time: '2023-11-20T10:29:47.069Z',
  type: 'login',
  source: 'blitz',
  outcome: 'success',
  actor: 'BIP-123456',
  clientIp: '213.230.116.179',
  sessionId: 'f8d85ba2-a26a-447f-b82e-944b9218abb8',
  details: SEED_DETAILS,
};

test('Blitz documented record: id, epoch-ms timestamp, subject, ip and session map to canonical slots; every other attribute is kept', () => {
  const text = record('blitz-login.json');
  const [e] = parseRecord({ text, idHint: 'ignored: the record has its own id' }, 'blitz');
  assert.deepEqual(e, { ...SEED_EVENT, raw: text });
});

test('Blitz logback line: the JSON after the prefix is parsed, raw keeps the whole line', () => {
  const line = record('blitz-logback.log');
  assert.ok(line.startsWith('2023-11-20 13:29:47,170 - [INFO] -[LoggerEventEmitterDriver.scala:37] - {'));
  const [e] = parseRecord({ text: line }, 'blitz');
  assert.deepEqual(e, { ...SEED_EVENT, raw: line });
});

test('Blitz timestamp with a +0300 offset is converted to UTC', () => {
  const text = JSON.stringify({ id: 'x1', type: 'logout', timestamp: '2022-11-04T17:49:58.384+0300', subject_id: 'BIP-1' });
  const [e] = parseRecord({ text }, 'blitz');
  assert.equal(e!.time, '2022-11-04T14:49:58.384Z');
});

test('Blitz outcome: failure types and records with an error fail, the error text is kept', () => {
  const failedType = parseRecord({ text: JSON.stringify({ type: 'login_failed', timestamp: 1700476187069, used_login: 'ivanov' }), idHint: 'h' }, 'blitz')[0]!;
  assert.equal(failedType.outcome, 'failure');
  // Without subject_id the login the user typed is the actor.
  assert.equal(failedType.actor, 'ivanov');
  assert.deepEqual(failedType.details, {});

  const withError = parseRecord({ text: JSON.stringify({ type: 'auth', timestamp: 1700476187069, subject_id: 'BIP-7', used_login: 'petrov', error: 'invalid_grant' }) }, 'blitz')[0]!;
  assert.equal(withError.outcome, 'failure');
  assert.equal(withError.actor, 'BIP-7');
  assert.deepEqual(withError.details, { used_login: 'petrov', error: 'invalid_grant' });

  const ok = parseRecord({ text: JSON.stringify({ type: 'token_granted', timestamp: 1700476187069 }) }, 'blitz')[0]!;
  assert.equal(ok.outcome, 'success');
});

test('Blitz errors name the bad field', () => {
  assert.throws(() => parseRecord({ text: JSON.stringify({ type: 'login' }) }, 'blitz'), (err: unknown) => err instanceof InvalidEventError && err.message === 'timestamp: missing');
  assert.throws(() => parseRecord({ text: JSON.stringify({ timestamp: 1700476187069 }) }, 'blitz'), { message: 'type: missing' });
  assert.throws(() => parseRecord({ text: JSON.stringify({ type: 'login', timestamp: 'yesterday' }) }, 'blitz'), { message: /^timestamp: cannot read "yesterday" as a time: use ISO 8601/ });
  assert.throws(() => parseRecord({ text: JSON.stringify({ type: 'login', timestamp: 1, ip: 213 }) }, 'blitz'), { message: 'ip: expected a string, got 213' });
  assert.throws(() => parseRecord({ text: '2023-11-20 13:29:47,170 - [INFO] -[X.scala:37] - {"type":' }, 'blitz'), { message: /^record: the JSON after the logback prefix is invalid: / });
});
