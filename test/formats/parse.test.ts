import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord, parseRecordSettled } from '../../src/formats/parse.js';
import type { ParserName } from '../../src/formats/parser.js';
import { fixture, record } from './fixtures.js';

test('parse: auto detects every format by its content and gives the same event as the named parser', () => {
  const cases: [string, ParserName, string][] = [
    [record('foxpass-ldap-bind.json'), 'foxpass', 'ldap.bind'],
    [record('foxpass-radius-authorize.json'), 'foxpass', 'radius.authorize'],
    [record('blitz-login.json'), 'blitz', 'login'],
    [record('blitz-logback.log'), 'blitz', 'login'],
    [fixture('temporal-delete-user.json'), 'temporal', 'temporal.DeleteUser'],
    [record('cloudtrail-describe-event-aggregates.json'), 'cloudtrail', 'cloudtrail.DescribeEventAggregates'],
    [fixture('vpc-flow.log').split('\n')[0]!, 'vpc-flow', 'vpc.flow'],
    [JSON.stringify({ type: 'user.created', time: '2024-03-01T12:00:00Z' }), 'generic', 'user.created'],
  ];
  for (const [text, name, type] of cases) {
    const auto = parseRecord({ text, idHint: 'h' }, 'auto');
    assert.equal(auto[0]!.source, name, `${name} detected`);
    assert.equal(auto[0]!.type, type);
    assert.deepEqual(auto, parseRecord({ text, idHint: 'h' }, name));
  }
  const file = parseRecord({ text: fixture('cloudtrail-log-file.json') }, 'auto');
  assert.deepEqual(file.map((e) => e.source), ['cloudtrail', 'cloudtrail', 'cloudtrail']);
});

test('parse: auto recognises a Blitz record whose type is not in the catalog by its attributes', () => {
  const [e] = parseRecord({ text: JSON.stringify({ type: 'passkey_added', timestamp: 1700476187069, subject_id: 'BIP-1', lp_id: 'portal' }) }, 'auto');
  assert.equal(e!.source, 'blitz');
  assert.equal(e!.actor, 'BIP-1');
});

test('an already-parsed value is used as is, so the text is not parsed again', () => {
  const value = { type: 'user.created', time: '2024-03-01T12:00:00Z' };
  // The text is deliberately not JSON: were it parsed, this would throw.
  const [e] = parseRecord({ text: 'not parsed again', value }, 'auto');
  assert.equal(e!.type, 'user.created');
  assert.equal(e!.raw, 'not parsed again');
});

test('a record with its own id keeps it over the hint; without one the hint is the id', () => {
  assert.equal(parseRecord({ text: record('blitz-login.json'), idHint: 'h' }, 'auto')[0]!.id, '6056828858453673-600312119');
  assert.equal(parseRecord({ text: record('foxpass-ldap-bind.json'), idHint: 'h' }, 'auto')[0]!.id, 'h');
  // Elements of a CloudTrail file without eventID get per-element hints.
  const file = JSON.stringify({ Records: [{ eventName: 'A', eventTime: '2021-04-28T21:13:07Z' }, { eventName: 'B', eventTime: '2021-04-28T21:13:08Z' }] });
  assert.deepEqual(parseRecord({ text: file, idHint: 'obj' }, 'cloudtrail').map((e) => e.id), ['obj:0', 'obj:1']);
});

test('records no parser accepts fail with what was expected', () => {
  assert.throws(() => parseRecord({ text: 'Nov 20 13:29:47 host sshd[1]: Accepted publickey' }, 'auto'), {
    message: 'record: neither JSON nor a known text format (VPC flow log line, Blitz logback line)',
  });
  assert.throws(() => parseRecord({ text: '[["a"]]' }, 'auto'), { message: '[0]: record: expected a JSON object, got an array' });
  assert.throws(() => parseRecord({ text: 'null', value: null }, 'auto'), { message: 'record: expected a JSON object, got null' });
  assert.throws(() => parseRecord({ text: '{}' }, 'nope' as ParserName), { message: 'parse: unknown parser "nope" (known: auto, auditstream, foxpass, temporal, cloudtrail, blitz, vpc-flow, generic)' });
});

test('a JSON array is a list of records, each detected on its own; a bad element costs only itself', () => {
  const text = `[${record('foxpass-ldap-bind.json')},${record('blitz-login.json')},{"type":"x"}]`;
  const { events, failures } = parseRecordSettled({ text, idHint: 'batch' }, 'auto');
  assert.deepEqual(events.map((e) => [e.source, e.id]), [
    ['foxpass', 'batch:0'],
    ['blitz', '6056828858453673-600312119'],
  ]);
  assert.deepEqual(JSON.parse(events[0]!.raw), JSON.parse(record('foxpass-ldap-bind.json')));
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.error.message, '[2]: time: missing (give "time" or "timestamp")');
  assert.equal(failures[0]!.input.text, '{"type":"x"}');
  assert.deepEqual(parseRecordSettled({ text: '[]' }, 'auto'), { events: [], failures: [] });
});

test('auditstream events (what its emitters write) are recognised and kept as they are', () => {
  const original = parseRecord({ text: '{"service":"ldap","method":"bind","message":"ok","timestamp":"2018-01-15 14:29:38.175","success":true,"bind_dn":"uid=a","user_type":"user","username":"a"}' }, 'auto')[0]!;
  const text = JSON.stringify(original) + '\n';
  const [again] = parseRecord({ text }, 'auto');
  assert.deepEqual(again, original, 'same id, source, raw and fields after a hop through a stream');
  assert.equal(again!.source, 'foxpass');
});
