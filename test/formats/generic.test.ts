import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord } from '../../src/formats/parse.js';

test('generic record: canonical names fill canonical slots, everything else goes to details', () => {
  const rec = {
    id: 'evt-1',
    type: 'user.created',
    time: '2024-03-01T12:00:00+01:00',
    outcome: 'success',
    actor: 'admin@example.com',
    clientIp: '192.0.2.4',
    sessionId: 's-9',
    tenant: 'acme',
    message: 'created user bob',
    service: 'console',
    target: 'bob',
    details: { roles: ['viewer'] },
  };
  const text = JSON.stringify(rec);
  const [e] = parseRecord({ text, origin: { source: 'http' } }, 'generic');
  assert.deepEqual(e, {
    id: 'evt-1',
    time: '2024-03-01T11:00:00.000Z',
    type: 'user.created',
    source: 'generic',
    service: 'console',
    outcome: 'success',
    actor: 'admin@example.com',
    clientIp: '192.0.2.4',
    sessionId: 's-9',
    tenant: 'acme',
    message: 'created user bob',
    details: { target: 'bob', details: { roles: ['viewer'] } },
    origin: { source: 'http' },
    raw: text,
  });
});

test('generic record: eventType and timestamp are accepted, outcome defaults to unknown, the hint is the id', () => {
  const [e] = parseRecord({ text: JSON.stringify({ eventType: 'door.opened', timestamp: 1700476187069, door: 3 }), idHint: 'kafka:audit:0:17' }, 'generic');
  assert.equal(e!.type, 'door.opened');
  assert.equal(e!.time, '2023-11-20T10:29:47.069Z');
  assert.equal(e!.outcome, 'unknown');
  assert.equal(e!.id, 'kafka:audit:0:17');
  assert.deepEqual(e!.details, { door: 3 });
});

test('generic errors name the missing or bad field', () => {
  assert.throws(() => parseRecord({ text: '{"time":"2024-01-01T00:00:00Z"}' }, 'generic'), { message: 'type: missing (give "type" or "eventType")' });
  assert.throws(() => parseRecord({ text: '{"type":"x"}' }, 'generic'), { message: 'time: missing (give "time" or "timestamp")' });
  assert.throws(() => parseRecord({ text: '{"type":"x","time":"never"}' }, 'generic'), { message: /^time: cannot read "never" as a time: use ISO 8601 with an offset/ });
  assert.throws(() => parseRecord({ text: '{"eventType":3,"time":1}' }, 'generic'), { message: 'eventType: expected a non-empty string, got 3' });
  assert.throws(() => parseRecord({ text: '{"type":"x","time":1700476187069,"outcome":"ok"}' }, 'generic'), { message: 'outcome: expected one of success, failure, unknown, got "ok"' });
  assert.throws(() => parseRecord({ text: '{"type":"x","time":1700476187069,"actor":{"id":1}}' }, 'generic'), { message: 'actor: expected a string, got an object' });
  assert.throws(() => parseRecord({ text: '[1,2]' }, 'generic'), { message: '[0]: record: expected a generic JSON object, got 1' });
  assert.throws(() => parseRecord({ text: '{"type":' }, 'generic'), { message: /^record: not valid JSON: / });
});

test('a canonical field present but empty fills no slot and is kept in details', () => {
  const [e] = parseRecord({ text: JSON.stringify({ type: 'x', time: 1700476187069, actor: '', tenant: null }) }, 'generic');
  assert.equal(e!.actor, undefined);
  assert.deepEqual(e!.details, { actor: '', tenant: null });
});

test("generic details keep the record's key order, the unused spelling of type or time among them; of several faults the same one is named whatever the order", () => {
  const [e] = parseRecord(
    { text: '{"zeta":1,"eventType":"alt","type":"x","actor":null,"time":1700476187069,"timestamp":"t","outcome":null,"__proto__":{"p":1},"alpha":2}' },
    'generic',
  );
  assert.equal(e!.type, 'x');
  assert.deepEqual(Object.keys(e!.details), ['zeta', 'eventType', 'actor', 'timestamp', 'outcome', '__proto__', 'alpha']);
  assert.equal(JSON.stringify(e!.details), '{"zeta":1,"eventType":"alt","actor":null,"timestamp":"t","outcome":null,"__proto__":{"p":1},"alpha":2}');
  for (const text of ['{"message":5,"actor":5,"type":"x","time":1}', '{"actor":5,"message":5,"type":"x","time":1}']) {
    assert.throws(() => parseRecord({ text }, 'generic'), { message: 'actor: expected a string, got 5' });
  }
  assert.throws(() => parseRecord({ text: '{"outcome":"ok","id":"","type":"","time":1}' }, 'generic'), { message: 'type: expected a non-empty string, got ""' });
});
