import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { codecSchema, encodeEvent } from '../../src/codecs/codec.js';
import type { AuditEvent } from '../../src/core/event.js';

const event: AuditEvent = {
  id: '0190c5a2-0000-7000-8000-000000000001',
  time: '2024-07-01T10:00:00.000Z',
  type: 'login',
  source: 'blitz',
  outcome: 'success',
  actor: 'BIP-1',
  details: { lp_id: 'app' },
  raw: '{"type":"login","subject_id":"BIP-1"}',
};

test('json is the canonical event as one line of JSON', () => {
  const line = encodeEvent(event, 'json');
  assert.equal(line, JSON.stringify(event));
  assert.deepEqual(JSON.parse(line), event);
});

test('raw is the producer record without the line terminator it may still carry', () => {
  assert.equal(encodeEvent(event, 'raw'), event.raw);
  assert.equal(encodeEvent({ ...event, raw: 'a b c\r\n' }, 'raw'), 'a b c');
  assert.equal(encodeEvent({ ...event, raw: 'a b c\n\n' }, 'raw'), 'a b c');
  assert.equal(encodeEvent({ ...event, raw: 'line one\nline two' }, 'raw'), 'line one\nline two', 'inner line breaks are left for the emitter to judge');
});

test('ocsf is one line of JSON holding the event id and the raw record', () => {
  const line = encodeEvent({ ...event, raw: 'multi\nline\n' }, 'ocsf');
  assert.ok(!line.includes('\n'));
  const ocsf = JSON.parse(line);
  assert.equal(ocsf.metadata.uid, event.id);
  assert.equal(ocsf.raw_data, 'multi\nline\n');
});

test('codec defaults to json and names the accepted values when wrong', () => {
  const schema = z.strictObject({ codec: codecSchema });
  assert.deepEqual(schema.parse({}), { codec: 'json' });
  assert.deepEqual(schema.parse({ codec: 'ocsf' }), { codec: 'ocsf' });
  const result = schema.safeParse({ codec: 'xml' });
  assert.ok(!result.success);
  assert.match(result.error.issues[0]!.message, /json.*raw.*ocsf/);
});
