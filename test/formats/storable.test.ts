/**
 * Strings every store can hold, at the parse layer (HTTP ingest and every
 * source): an event holding U+0000 or an unpaired UTF-16 surrogate anywhere is
 * refused, naming the field; a collector keeps the record as an unparsed event
 * that PostgreSQL itself stores.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../src/core/event.js';
import { parseRecordSettled } from '../../src/formats/parse.js';
import { readRecord } from '../../src/formats/read-record.js';
import { PostgresAuditStore } from '../../src/store/postgres-store.js';
import { createPgDatabase } from '../support/pg-database.js';
import { record } from './fixtures.js';

const NUL = 'contains U+0000, which the PostgreSQL audit store cannot hold';
const LONE_D800 = 'contains an unpaired UTF-16 surrogate (\\ud800), which is not a character: written as UTF-8 it would be stored as U+FFFD';

const ct = (id: string, extra: object = {}) => ({ eventID: id, eventName: 'GetObject', eventTime: '2024-01-01T00:00:00Z', eventSource: 's3.amazonaws.com', ...extra });

test('a CloudTrail log file keeps its good records; the one holding U+0000 fails alone, naming the element and the field', () => {
  const file = { Records: [ct('a'), ct('b', { requestParameters: { bucketName: 'x\u0000' } }), ct('c')] };
  const { events, failures } = parseRecordSettled({ text: JSON.stringify(file) }, 'auto');
  assert.deepEqual(events.map((e) => e.id), ['a', 'c']);
  assert.deepEqual(failures.map((f) => f.error.message), [`Records[1]: details.requestParameters.bucketName: ${NUL}`]);
});

test('every string of the event is checked: canonical slots, field names, nested arrays, the transport origin', () => {
  const generic = { type: 'login', time: '2024-01-01T00:00:00Z' };
  const cases: [object, string][] = [
    [{ ...generic, tenant: 't\ud800' }, `tenant: ${LONE_D800}`],
    [{ ...generic, message: '\u0000' }, `message: ${NUL}`],
    [{ ...generic, list: [[1, 'x\ud800']] }, `details.list[0][1]: ${LONE_D800}`],
    [{ ...generic, 'a.b': { '\u0000': 1 } }, `details["a.b"]["\\u0000"]: the field name ${NUL}`],
  ];
  for (const [value, message] of cases) {
    const { events, failures } = parseRecordSettled({ text: JSON.stringify(value) }, 'auto');
    assert.equal(events.length, 0, message);
    assert.deepEqual(failures.map((f) => f.error.message), [message]);
  }
  // Escapes in upper case are the same characters.
  const upper = parseRecordSettled({ text: '{"type":"login","time":"2024-01-01T00:00:00Z","note":"\\uDBFF!"}' }, 'auto');
  assert.deepEqual(upper.failures.map((f) => f.error.message), ['details.note: contains an unpaired UTF-16 surrogate (\\udbff), which is not a character: written as UTF-8 it would be stored as U+FFFD']);
  const fromLogGroup = parseRecordSettled({ text: JSON.stringify(generic), origin: { logGroup: 'g\u0000' } }, 'auto');
  assert.deepEqual(fromLogGroup.failures.map((f) => f.error.message), [`origin.logGroup: ${NUL}`]);
});

test('text formats too: a Blitz logback line whose JSON escapes U+0000, a VPC flow line holding the character itself', () => {
  const blitz = record('blitz-logback.log').replace('"ip_st":"Tashkent"', '"ip_st":"Tash\\u0000kent"');
  assert.deepEqual(parseRecordSettled({ text: blitz }, 'auto').failures.map((f) => f.error.message), [`details.ip_st: ${NUL}`]);
  const vpc = '2 123456789010 eni-1235b8ca\u0000 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1618530010 1618530070 ACCEPT OK';
  assert.deepEqual(parseRecordSettled({ text: vpc }, 'auto').failures.map((f) => f.error.message), [`details.interface-id: ${NUL}`]);
});

test('what every store holds is accepted as it came: pairs, escaped or not, and text that only looks like an escape', () => {
  const texts = [
    '{"type":"login","time":"2024-01-01T00:00:00Z","note":"smile \\ud83d\\ude00"}',
    '{"type":"login","time":"2024-01-01T00:00:00Z","note":"smile 😀"}',
    // An escaped backslash followed by "u0000": six characters of text, no NUL.
    '{"type":"login","time":"2024-01-01T00:00:00Z","note":"C:\\\\u0000"}',
    '{"type":"login","time":"2024-01-01T00:00:00Z","note":"\\u0001\\u001f\\uffff"}',
  ];
  const notes = ['smile 😀', 'smile 😀', 'C:\\u0000', '\u0001\u001f\uffff'];
  for (const [i, text] of texts.entries()) {
    const { events, failures } = parseRecordSettled({ text }, 'auto');
    assert.deepEqual(failures, []);
    assert.equal(events[0]!.details.note, notes[i]);
    assert.equal(events[0]!.raw, text);
  }
});

test('an error quoting a value never cuts a surrogate pair in two', () => {
  // describe() cuts quoted values at 60 characters; the 57th would be the first half of the emoji.
  const time = `${'x'.repeat(55)}😀${'y'.repeat(10)}`;
  const { failures } = parseRecordSettled({ text: JSON.stringify({ type: 'login', time }) }, 'auto');
  assert.equal(failures.length, 1);
  assert.doesNotMatch(failures[0]!.error.message, /\p{Cs}/u, 'no lone surrogate in the message');
  assert.match(failures[0]!.error.message, /x{55}\.\.\./);
});

test('collector mode: a refused record is kept as an unparsed event that PostgreSQL stores and gives back as it was kept', async (t) => {
  const db = await createPgDatabase(t);
  const store = db.own(new PostgresAuditStore({ url: db.url, poolSize: 1 }));
  const ndjson = [
    JSON.stringify({ type: 'login', time: '2024-01-01T00:00:00Z', id: 'kept', note: 'fine' }),
    JSON.stringify({ type: 'login', time: '2024-01-01T00:00:00Z', id: 'nul', note: 'a\u0000b' }),
    JSON.stringify({ type: 'login', time: '2024-01-01T00:00:00Z', id: 'lone', note: 'a\ud800b' }),
  ].join('\n');
  const fromKinesis = readRecord(Buffer.from(ndjson), { decode: 'ndjson', parse: 'auto', keepUnparsed: true, idHint: 'shard:1', timestampMs: Date.UTC(2024, 0, 2) });
  // An application log line holding the characters themselves, from a log group named with one.
  const envelope = {
    messageType: 'DATA_MESSAGE',
    logGroup: 'group\u0000',
    logStream: 's',
    owner: '1',
    logEvents: [
      { id: 'cw-1', timestamp: Date.UTC(2024, 0, 3), message: 'plain log\u0000line \ud800' },
      { id: 'cw-2', timestamp: Date.UTC(2024, 0, 3), message: JSON.stringify({ type: 'login', time: '2024-01-01T00:00:00Z' }) },
    ],
  };
  const fromCloudWatch = readRecord(Buffer.from(JSON.stringify(envelope)), { decode: 'cloudwatch-logs', parse: 'auto', keepUnparsed: true });

  assert.deepEqual(fromKinesis.events.map((e) => [e.id, e.type]), [['kept', 'login'], ['shard:1:2', 'unparsed'], ['shard:1:3', 'unparsed']]);
  const [, nul, lone] = fromKinesis.events as [AuditEvent, AuditEvent, AuditEvent];
  assert.equal(nul.details.unparsedReason, `line 2: details.note: ${NUL}`);
  assert.equal(lone.details.unparsedReason, `line 3: details.note: ${LONE_D800}`);
  // The text of a JSON record holds the escape, which every store keeps: raw is the record's text untouched.
  assert.equal(nul.raw, ndjson.split('\n')[1]);

  const [cw, cwJson] = fromCloudWatch.events as [AuditEvent, AuditEvent];
  assert.deepEqual([cw.type, cwJson.type], ['cloudwatch.log', 'cloudwatch.log']);
  assert.equal(JSON.parse(cw.raw), 'plain log\u0000line \ud800', 'raw holds the text as a JSON string literal, losslessly');
  assert.equal(
    cw.details.unparsedReason,
    `logEvents[0]: record: neither JSON nor a known text format (VPC flow log line, Blitz logback line); raw holds the record's text as a JSON string literal, since the text ${NUL}`,
  );
  // A record fine in itself, refused for the name its transport gave it; the name is kept escaped.
  assert.equal(cwJson.details.unparsedReason, `logEvents[1]: origin.logGroup: ${NUL}`);
  assert.equal(cwJson.raw, envelope.logEvents[1]!.message);
  for (const e of [cw, cwJson]) assert.deepEqual(e.origin, { logGroup: 'group\\u0000', logStream: 's', owner: '1' });

  const all = [...fromKinesis.events, ...fromCloudWatch.events];
  assert.deepEqual(await store.insert(all), { inserted: 5, duplicates: 0 });
  for (const e of all) assert.deepEqual(await store.get(e.id), e, `${e.id} comes back as it was kept`);
});
