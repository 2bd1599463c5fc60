import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord, parseRecordSettled } from '../../src/formats/parse.js';
import type { ParserName } from '../../src/formats/format-registry.js';
import { DEFAULT_PARSE_CONTEXT } from '../../src/formats/producer-format.js';
import { fixture, record } from './fixtures.js';

test('parse: auto detects every format by its content and gives the same event as the named parser', () => {
  const cases: [string, ParserName, string][] = [
    [record('foxpass-ldap-bind.json'), 'foxpass', 'ldap.bind'],
    [record('foxpass-radius-authorize.json'), 'foxpass', 'radius.authorize'],
    [record('blitz-login.json'), 'blitz', 'login'],
    [record('blitz-logback.log'), 'blitz', 'login'],
    [fixture('temporal-delete-user.json'), 'temporal', 'temporal.DeleteUser'],
    [record('cloudtrail-describe-event-aggregates.json'), 'cloudtrail', 'cloudtrail.DescribeEventAggregates'],
    [record('cloudtrail-insight-start.json'), 'cloudtrail', 'cloudtrail.insight'],
    [record('cloudtrail-digest.json'), 'cloudtrail', 'cloudtrail.digest'],
    [fixture('vpc-flow.log').split('\n')[0]!, 'vpc-flow', 'vpc.flow'],
    [record('vpc-flow-tgw.log'), 'vpc-flow', 'vpc.flow'],
    [JSON.stringify({ message: fixture('vpc-flow.log').split('\n')[0]! }), 'vpc-flow', 'vpc.flow'],
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

test('every parser holds its time to the configured window and names its own field', () => {
  const ctx = { ...DEFAULT_PARSE_CONTEXT, eventTime: { notBeforeMs: Date.parse('2022-01-01T00:00:00Z'), maxAheadSec: 0 } };
  const before = /is before 2022-01-01T00:00:00\.000Z \(audit\.eventTime\.notBefore\)$/;
  const cases: [string, string][] = [
    [record('foxpass-ldap-bind.json'), 'timestamp'], // 2018
    [JSON.stringify({ type: 'login', timestamp: 1600000000000, subject_id: 'BIP-1' }), 'timestamp'],
    [JSON.stringify({ emit_time: '2021-01-01T00:00:00Z', operation: 'DeleteUser' }), 'emit_time'],
    [JSON.stringify({ eventVersion: '1.08', eventName: 'A', eventTime: '2021-04-28T21:13:07Z' }), 'eventTime'],
    [fixture('vpc-flow.log').split('\n')[0]!, 'start'], // 2021
    [JSON.stringify({ type: 'x', time: '2021-06-01T00:00:00+02:00' }), 'time'],
  ];
  for (const [text, field] of cases) {
    const { events, failures } = parseRecordSettled({ text }, 'auto', ctx);
    assert.equal(events.length, 0, text);
    assert.match(failures[0]!.error.message, new RegExp(`^${field}: .*${before.source}`), text);
  }
  const ahead = new Date(Date.now() + 60_000).toISOString();
  assert.match(parseRecordSettled({ text: JSON.stringify({ type: 'x', time: ahead }) }, 'auto', ctx).failures[0]!.error.message, /^time: .* ahead .*maxAheadSec/);
});

test('only Foxpass, whose docs say UTC, may leave out the offset', () => {
  const foxpass = JSON.parse(record('foxpass-ldap-bind.json')) as Record<string, unknown>;
  assert.equal(foxpass.timestamp, '2018-01-15 14:29:38.175');
  assert.equal(parseRecord({ text: JSON.stringify(foxpass) }, 'foxpass')[0]!.time, '2018-01-15T14:29:38.175Z');
  assert.throws(() => parseRecord({ text: JSON.stringify({ type: 'x', time: '2018-01-15 14:29:38.175' }) }, 'generic'), { message: /^time: .*no UTC offset/ });
  assert.throws(() => parseRecord({ text: JSON.stringify({ emit_time: '2023-11-14T07:56:55', operation: 'A' }) }, 'temporal'), { message: /^emit_time: .*no UTC offset/ });
});

test('a "__proto__" field is kept in details like any other, by every parser that copies fields', () => {
  const proto = '"__proto__":{"admin":true}';
  const cases: [string, ParserName][] = [
    [`{"type":"x","time":"2024-01-01T00:00:00Z",${proto},"constructor":"c"}`, 'generic'],
    [`{"service":"ldap","method":"bind","timestamp":"2018-01-15 14:29:38.175","success":true,${proto}}`, 'foxpass'],
    [`{"type":"login","timestamp":1700476187069,"subject_id":"BIP-1",${proto}}`, 'blitz'],
    [`{"emit_time":"2023-11-14T07:56:55Z","operation":"DeleteUser",${proto}}`, 'temporal'],
    [`{"eventVersion":"1.08","eventName":"A","eventTime":"2024-01-01T00:00:00Z",${proto}}`, 'cloudtrail'],
  ];
  for (const [text, name] of cases) {
    const [e] = parseRecord({ text }, 'auto');
    assert.equal(e!.source, name);
    assert.ok(Object.hasOwn(e!.details, '__proto__'), `${name}: __proto__ is an own field of details`);
    assert.deepEqual(JSON.parse(JSON.stringify(e!.details)).__proto__, { admin: true }, `${name}: and it is written out`);
    assert.equal(Object.getPrototypeOf(e!.details), Object.prototype, `${name}: the prototype is untouched`);
    assert.deepEqual(JSON.parse(JSON.stringify(parseRecord({ text: JSON.stringify(e) }, 'auto')[0])), JSON.parse(JSON.stringify(e)), `${name}: kept through a hop`);
  }
  const [ct] = parseRecord({ text: `{"eventVersion":"1.08","eventName":"A","eventTime":"2024-01-01T00:00:00Z","userIdentity":{"accessKeyId":"AK",${proto}}}` }, 'cloudtrail');
  assert.ok(Object.hasOwn(ct!.details.userIdentity as object, '__proto__'), 'userIdentity without its access key keeps __proto__');
});

test('an object shaped almost like an auditstream event loses nothing: generic takes it or refuses it, parse: auditstream names the field', () => {
  const event = { id: 'e-1', time: '2024-01-01T00:00:00.000Z', type: 'login', source: 'blitz', outcome: 'success', details: {}, raw: '{}' };
  assert.equal(parseRecord({ text: JSON.stringify(event) }, 'auto')[0]!.source, 'blitz');
  for (const [extra, problem] of [
    [{ note: 'kept' }, 'note: not a field of an auditstream event'],
    [{ origin: { shard: 1 } }, 'origin: expected an object of strings, got an object'],
  ] as const) {
    const text = JSON.stringify({ ...event, ...extra });
    const [e] = parseRecord({ text }, 'auto');
    assert.equal(e!.source, 'generic', problem);
    const [key, value] = Object.entries(extra)[0]!;
    assert.deepEqual(e!.details[key], value, `${key} kept in details`);
    assert.throws(() => parseRecord({ text }, 'auditstream'), { message: `not an auditstream event: ${problem}` });
  }
  // Was taken as an auditstream event with the actor silently dropped.
  const text = JSON.stringify({ ...event, actor: 5 });
  assert.throws(() => parseRecord({ text }, 'auto'), { message: 'actor: expected a string, got 5' });
  assert.throws(() => parseRecord({ text }, 'auditstream'), { message: 'not an auditstream event: actor: expected a string, got 5' });
});
