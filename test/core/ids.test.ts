import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_EVENT_ID_CHARS, eventIdProblem, hintedEventId } from '../../src/core/ids.js';
import { parseRecord, parseRecordSettled } from '../../src/formats/parse.js';

test('an event id is at most 256 characters, counted as code points, and a character string that can be written', () => {
  assert.equal(eventIdProblem('a'.repeat(MAX_EVENT_ID_CHARS)), undefined);
  assert.equal(eventIdProblem('😀'.repeat(MAX_EVENT_ID_CHARS)), undefined, '256 astral characters are 512 UTF-16 units, still 256 characters');
  assert.equal(eventIdProblem('a'.repeat(MAX_EVENT_ID_CHARS + 1)), '257 characters, over the 256 an id may have');
  assert.equal(eventIdProblem('a/b?c#d%e f ü 名'), undefined);
  assert.match(eventIdProblem('a\u0000b')!, /control character/);
  assert.match(eventIdProblem('line\nbreak')!, /control character/);
  assert.match(eventIdProblem('half \ud83d')!, /unpaired UTF-16 surrogate/);
  assert.match(eventIdProblem('..')!, /cannot be a URL path segment/);
  assert.match(eventIdProblem('.')!, /cannot be a URL path segment/);
});

test('a record whose own id cannot be an id is rejected naming the field; its siblings are kept', () => {
  const long = 'x'.repeat(500 * 1024);
  assert.throws(() => parseRecord({ text: JSON.stringify({ type: 'login', time: '2024-01-01T00:00:00Z', id: long }) }, 'auto'), {
    message: `id: ${long.length} characters, over the 256 an id may have`,
  });
  const file = { Records: [{ eventName: 'A', eventTime: '2024-01-01T00:00:00Z', eventID: 'e'.repeat(300) }, { eventName: 'B', eventTime: '2024-01-01T00:00:00Z', eventID: 'ok' }] };
  const { events, failures } = parseRecordSettled({ text: JSON.stringify(file) }, 'auto');
  assert.deepEqual(events.map((e) => e.id), ['ok']);
  assert.equal(failures[0]!.error.message, 'Records[0]: eventID: 300 characters, over the 256 an id may have');
  assert.throws(() => parseRecord({ text: JSON.stringify({ emit_time: '2024-01-01T00:00:00Z', operation: 'A', log_id: 'a\u0000' }) }, 'temporal'), { message: /^log_id: contains a control character/ });
});

test('a collector hint too long to be an id becomes a digest of itself, so a replay still dedupes', () => {
  const hint = `s3://bucket/${'k'.repeat(1000)}#etag`;
  const id = hintedEventId(hint);
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(hintedEventId(hint), id);
  assert.equal(hintedEventId('shardId-000:42:0'), 'shardId-000:42:0');
  const [e] = parseRecord({ text: '2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620000000 1620000060 ACCEPT OK', idHint: hint }, 'vpc-flow');
  assert.equal(e!.id, id);
});
