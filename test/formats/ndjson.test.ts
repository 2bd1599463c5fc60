import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNdjson, splitLines } from '../../src/formats/containers/ndjson.js';
import { readRecord } from '../../src/formats/read-record.js';
import { fixture, record } from './fixtures.js';
import { DEFAULT_MAX_DEPTH, DepthScan, jsonDepth } from '../../src/formats/parse-helpers/depth.js';

test("a Foxpass Kinesis record (JSON + newline) is one event whose raw is the JSON, id the record's hint", () => {
  const data = Buffer.from(fixture('foxpass-ldap-bind.json'));
  assert.equal(data.at(-1), 0x0a);
  const { events, errors, skipped, unparsed } = readRecord(data, { decode: 'ndjson', parse: 'auto', idHint: 'shardId-000000000000:4959' });
  assert.deepEqual({ errors, skipped, unparsed }, { errors: [], skipped: 0, unparsed: 0 });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.raw, record('foxpass-ldap-bind.json'));
  assert.equal(events[0]!.id, 'shardId-000000000000:4959');
  assert.equal(events[0]!.type, 'ldap.bind');
});

test('NDJSON with a bad line in the middle: the error names the line, the other lines are kept; blank lines ignored', () => {
  const text = [
    record('foxpass-ldap-bind.json'),
    '',
    '{"service":"ldap","method":"bind",',
    record('foxpass-radius-authorize.json'),
    '   ',
    record('blitz-login.json'),
    '',
  ].join('\r\n');
  const { events, errors } = readRecord(Buffer.from(text), { decode: 'ndjson', parse: 'auto', idHint: 'obj' });
  assert.deepEqual(events.map((e) => e.type), ['ldap.bind', 'radius.authorize', 'login']);
  // Hints carry the line number, so a replay of the same data yields the same ids.
  assert.deepEqual(events.map((e) => e.id), ['obj:1', 'obj:4', '6056828858453673-600312119']);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.index, 2);
  assert.match(errors[0]!.error, /^line 3: not valid JSON: /);
  // CR of CRLF is not part of the record.
  assert.equal(events[1]!.raw, record('foxpass-radius-authorize.json'));
});

test('NDJSON line that is JSON but not a valid event: the error names the line and the field', () => {
  const bad = JSON.stringify({ ...JSON.parse(record('foxpass-ldap-bind.json')), success: 'yes' });
  const { events, errors } = readRecord(Buffer.from(`${record('foxpass-radius-authorize.json')}\n${bad}\n`), { decode: 'ndjson', parse: 'foxpass' });
  assert.equal(events.length, 1);
  assert.deepEqual(errors, [{ index: 1, error: 'line 2: success: expected true or false, got "yes"' }]);
});

test('collector mode keeps a bad line as an unparsed event with the transport time and its reason', () => {
  const text = `${record('foxpass-ldap-bind.json')}\nnot json at all\n`;
  const arrival = Date.parse('2024-05-01T10:00:00.000Z');
  const { events, errors, unparsed } = readRecord(Buffer.from(text), { decode: 'ndjson', parse: 'auto', idHint: 'seq-7', timestampMs: arrival, origin: { shardId: 'shardId-000000000003' }, keepUnparsed: true });
  assert.deepEqual(errors, []);
  assert.equal(unparsed, 1);
  assert.equal(events.length, 2);
  const [, kept] = events;
  assert.deepEqual(kept, {
    id: 'seq-7:2',
    time: '2024-05-01T10:00:00.000Z',
    type: 'unparsed',
    source: 'unparsed',
    outcome: 'unknown',
    details: { unparsedReason: kept!.details.unparsedReason },
    origin: { shardId: 'shardId-000000000003' },
    raw: 'not json at all',
  });
  assert.match(String(kept!.details.unparsedReason), /^line 2: not valid JSON: /);
});

test('a single pretty-printed JSON document (as Temporal prints its sample) is one record', () => {
  const text = fixture('temporal-delete-user.json');
  assert.ok(text.split('\n').length > 10);
  const lines = decodeNdjson(text, DEFAULT_MAX_DEPTH);
  assert.equal(lines.length, 1);
  assert.equal((lines[0]!.value as { log_id: string }).log_id, '0mc69c0323b871293ce231dd1c7fb639');
  const { events, errors } = readRecord(Buffer.from(text), { decode: 'ndjson', parse: 'auto' });
  assert.deepEqual(errors, []);
  assert.equal(events[0]!.type, 'temporal.DeleteUser');
  assert.equal(events[0]!.raw, text.trim());
});

test('splitLines numbers lines as the file does, skipping blank ones', () => {
  assert.deepEqual(splitLines('a\n\n b\r\nc'), [
    { line: 1, text: 'a' },
    { line: 3, text: ' b' },
    { line: 4, text: 'c' },
  ]);
  assert.deepEqual(splitLines(''), []);
  assert.deepEqual(splitLines('\n\n'), []);
});

test('DepthScan fed in pieces measures as one scan does, an escape split across pieces included', () => {
  const text = `{"a":"x\\\\\\"[[[","b":[[{"c":"]]]"}]],"d":[${'['.repeat(9)}${']'.repeat(9)}]}`;
  const whole = jsonDepth(text);
  assert.equal(whole, 11);
  for (let size = 1; size <= 7; size++) {
    const scan = new DepthScan();
    for (let from = 0; from < text.length; from += size) scan.feed(text, from, Math.min(text.length, from + size));
    assert.equal(scan.deepest, whole, `pieces of ${size}`);
  }
});

test('jsonDepth, which skips strings whole, measures every text as the character-by-character DepthScan does', () => {
  // Texts made of the characters that matter (brackets, quotes, runs of backslashes) in every order, from a fixed seed.
  const alphabet = ['{', '}', '[', ']', '"', '\\', 'a', ':'];
  let seed = 12345;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let k = 0; k < 20_000; k++) {
    let text = '';
    for (let len = next(24); len > 0; len--) text += alphabet[next(alphabet.length)];
    const start = next(text.length + 1);
    const end = start + next(text.length + 1 - start);
    const scan = new DepthScan();
    scan.feed(text, start, end);
    assert.equal(jsonDepth(text, start, end), scan.deepest, `${JSON.stringify(text)} [${start}, ${end})`);
  }
});
