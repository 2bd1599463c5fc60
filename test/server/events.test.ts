import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

/** The events GET /v1/events returns for `query`, or the error answer. */
async function search(url: string, query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v1/events?${query}`);
  return { status: res.status, body: await res.json() };
}

test('event times: only unambiguous notations inside audit.eventTime are accepted, the rest refused by index', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { audit: { eventTime: { notBefore: '1990-01-01T00:00:00Z', maxAheadSec: 3600 } } } });
  const ev = (id: string, time: unknown) => ({ type: 'login', id, time });
  const inTwoHours = new Date(Date.now() + 2 * 3_600_000).toISOString();
  const res = await postEvents(server.url, [
    ev('seven', '7'), // Date.parse: 2001-07-01; an epoch number: 1970, before notBefore
    ev('feb30', '2024-02-30T00:00:00Z'), // Date.parse: 2024-03-01
    ev('march5', 'March 5'), // Date.parse: 2001-03-05
    ev('zoneless', '2024-03-01T12:00:00'),
    ev('far', '+275760-09-13T00:00:00Z'),
    ev('ahead', inTwoHours), // within the default day, not within maxAheadSec: 3600
    ev('offset', '2024-03-01T12:00:00+01:00'),
    ev('epoch', 1700000000),
    ev('old', '1990-06-01T00:00:00Z'),
  ]);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.deepEqual(res.body.ids, ['offset', 'epoch', 'old']);
  const reasons = Object.fromEntries(res.body.rejected.map((r: { index: number; error: string }) => [r.index, r.error]));
  assert.deepEqual(Object.keys(reasons).map(Number), [0, 1, 2, 3, 4, 5]);
  assert.equal(reasons[0], 'time: 1970-01-01T00:00:07.000Z is before 1990-01-01T00:00:00.000Z (audit.eventTime.notBefore)');
  assert.match(reasons[1], /^time: cannot read "2024-02-30T00:00:00Z" as a time: day 30 does not exist in 2024-02$/);
  assert.match(reasons[2], /^time: cannot read "March 5" as a time: use ISO 8601 with an offset/);
  assert.match(reasons[3], /^time: cannot read "2024-03-01T12:00:00" as a time: no UTC offset/);
  assert.match(reasons[4], /^time: cannot read "\+275760-09-13T00:00:00Z" as a time/);
  assert.match(reasons[5], /^time: .* is more than 3600 s ahead of the server's clock \(audit\.eventTime\.maxAheadSec\)$/);

  const stored = await waitFor(async () => {
    const page = await search(server.url, 'limit=10');
    return page.body.events?.length === 3 ? page.body.events : null;
  }, 'three events in the audit store');
  assert.deepEqual(
    stored.map((e: { id: string; time: string }) => [e.id, e.time]),
    [['offset', '2024-03-01T11:00:00.000Z'], ['epoch', '2023-11-14T22:13:20.000Z'], ['old', '1990-06-01T00:00:00.000Z']],
  );

  // from/to by the same rules: `from=6` is 1970-01-01T00:00:06Z (Date.parse made it June 2001).
  const from6 = await search(server.url, 'from=6');
  assert.equal(from6.status, 200);
  assert.deepEqual(from6.body.events.map((e: { id: string }) => e.id), ['offset', 'epoch', 'old']);
  const to6 = await search(server.url, 'to=6');
  assert.deepEqual(to6.body.events, []);
  const window = await search(server.url, `from=${encodeURIComponent('2024-03-01T12:00:00+01:00')}&to=1709294400001`);
  assert.deepEqual(window.body.events.map((e: { id: string }) => e.id), ['offset']);

  for (const [parameter, value, why] of [
    ['from', 'March 5', /use ISO 8601 with an offset/],
    ['to', '2024-02-30T00:00:00Z', /day 30 does not exist/],
    ['from', '2024-05-01', /use ISO 8601 with an offset/],
    ['to', '2024-05-01T00:00:00', /no UTC offset/],
  ] as const) {
    const bad = await search(server.url, `${parameter}=${encodeURIComponent(value)}`);
    assert.equal(bad.status, 400, `${parameter}=${value}`);
    assert.equal(bad.body.code, 'QUERY_INVALID');
    assert.equal(bad.body.parameter, parameter);
    assert.ok(bad.body.error.startsWith(`${parameter}: cannot read ${JSON.stringify(value)} as a time`), bad.body.error);
    assert.match(bad.body.error, why);
  }
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the server stays up');
});

test('a bad audit.eventTime stops the start naming the key', async (t) => {
  const dataDir = await tempDir(t);
  await assert.rejects(startServer(t, { dataDir, config: { audit: { eventTime: { notBefore: 'March 5' } } } }), (err: Error) =>
    /audit\.eventTime\.notBefore: cannot read "March 5" as a time/.test(err.message),
  );
});

test('every accepted id is fetchable as GET /v1/events/{encodeURIComponent(id)}; an id that could not be is refused by index', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  const good = [
    'a/b',
    'what?x=1',
    'frag#ment',
    '100%25 real %',
    'with spaces  ',
    'Grüße, 東京, مرحبا',
    'x'.repeat(150), // the default maxParamLength (100) answered 414
    '😀'.repeat(256), // 256 characters of 4 UTF-8 bytes each: 3,072 characters percent-encoded
    '名'.repeat(256),
    "+;,=&@:$!'()*[]",
  ];
  const bad: [string, RegExp][] = [
    ['x'.repeat(257), /^id: 257 characters, over the 256 an id may have$/],
    ['y'.repeat(500 * 1024), /^id: 512000 characters, over the 256/], // was accepted, and unfetchable
    ['..', /^id: "\.\." cannot be a URL path segment$/],
    ['nul\u0000', /^id: contains a control character/],
  ];
  const event = (id: string) => ({ type: 'login', time: '2024-01-01T00:00:00Z', id });
  const res = await postEvents(server.url, [...good.map(event), ...bad.map(([id]) => event(id))]);
  assert.equal(res.status, 202, JSON.stringify(res.body).slice(0, 500));
  const short = (id: string) => (id.length > 40 ? `${id.slice(0, 10)}… (${id.length} long)` : id);
  assert.deepEqual(res.body.ids.map(short), good.map(short));
  assert.deepEqual(res.body.rejected.map((r: { index: number }) => r.index), bad.map((_, i) => good.length + i));
  bad.forEach(([, reason], i) => assert.match(res.body.rejected[i].error, reason));

  for (const id of good) {
    const fetched = await waitFor(async () => {
      const r = await fetch(`${server.url}/v1/events/${encodeURIComponent(id)}`);
      if (r.status === 404) return null;
      return { status: r.status, body: (await r.json()) as { id?: string; error?: string } };
    }, `event ${JSON.stringify(id.slice(0, 20))} in the audit store`);
    assert.equal(fetched.status, 200, `${JSON.stringify(id.slice(0, 20))}: ${JSON.stringify(fetched.body).slice(0, 200)}`);
    assert.equal(fetched.body.id, id);
  }
});

test('one bad element costs only itself: a CloudTrail Records array and nested arrays keep their good siblings, rejected by position', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  const ct = (id: string, extra: object = {}) => ({ eventVersion: '1.08', eventID: id, eventName: 'DeleteUser', eventTime: '2024-03-01T10:00:00Z', ...extra });
  const file = await postEvents(server.url, { Records: [ct('ct-0'), ct('ct-1', { eventTime: 'soon' }), ct('ct-2')] });
  assert.equal(file.status, 202, JSON.stringify(file.body));
  assert.deepEqual(file.body.ids, ['ct-0', 'ct-2']);
  assert.deepEqual(file.body.rejected, [{ index: 0, error: 'Records[1]: eventTime: cannot read "soon" as a time: use ISO 8601 with an offset, e.g. 2024-05-01T12:00:00Z, or epoch seconds or milliseconds' }]);

  const login = (id: string) => ({ type: 'login', time: '2024-03-01T10:00:00Z', id });
  const nested = await postEvents(server.url, [[login('n-0'), { type: 'login', id: 'no-time' }, login('n-2')], login('n-3'), { Records: [ct('ct-3'), 7] }]);
  assert.equal(nested.status, 202, JSON.stringify(nested.body));
  assert.deepEqual(nested.body.ids, ['n-0', 'n-2', 'n-3', 'ct-3']);
  assert.deepEqual(nested.body.rejected, [
    { index: 0, error: '[1]: time: missing (give "time" or "timestamp")' },
    { index: 2, error: 'Records[1]: record: expected a CloudTrail JSON object, got 7' },
  ]);

  const ndjson = await postEvents(server.url, `${JSON.stringify({ Records: [ct('ct-4', { eventName: '' }), ct('ct-5')] })}\n`);
  assert.equal(ndjson.status, 202, JSON.stringify(ndjson.body));
  assert.deepEqual(ndjson.body.ids, ['ct-5']);
  assert.match(ndjson.body.rejected[0].error, /^Records\[0\]: eventName: expected a non-empty string/);

  for (const id of ['ct-0', 'ct-2', 'n-0', 'n-2', 'n-3', 'ct-3', 'ct-5']) {
    await waitFor(async () => (await fetch(`${server.url}/v1/events/${id}`)).status === 200, `${id} searchable`);
  }
});

test('a top-level "__proto__" field is kept in details through the queue, the log file and the audit store', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  // Written by hand: a JS object literal would set the prototype instead of a field.
  const body = '{"type":"login","time":"2024-03-01T10:00:00Z","id":"p-1","__proto__":{"isAdmin":true},"constructor":"c","note":"n"}';
  const res = await postEvents(server.url, body, { 'content-type': 'application/json' });
  assert.equal(res.status, 202, JSON.stringify(res.body));

  const stored = await waitFor(async () => {
    const r = await fetch(`${server.url}/v1/events/p-1`);
    return r.status === 200 ? JSON.parse(await r.text()) : null;
  }, 'p-1 in the audit store');
  assert.ok(Object.hasOwn(stored.details, '__proto__'), `details: ${JSON.stringify(stored.details)}`);
  assert.deepEqual(stored.details.__proto__, { isAdmin: true });
  assert.equal(stored.details.constructor, 'c');
  assert.equal(stored.details.note, 'n');

  const line = await waitFor(() => {
    try {
      return readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').split('\n').find((l) => l.includes('"p-1"')) ?? null;
    } catch {
      return null;
    }
  }, 'p-1 in the log file');
  assert.deepEqual(JSON.parse(line).details.__proto__, { isAdmin: true });
});

test('two producers sending id 42 are both stored: GET /v1/events/42 names both sources, ?source= picks one; a resend counts as a duplicate', async (t) => {
  const server = await startServer(t, { dataDir: await tempDir(t) });
  const blitz = { type: 'login', timestamp: 1700476187069, subject_id: 'BIP-1', session_id: 's-1', id: '42' };
  const foxpass = { service: 'ldap', method: 'bind', timestamp: '2018-01-15 14:29:38.175', success: true, username: 'alice', id: '42' };
  const sent = await postEvents(server.url, `${JSON.stringify(blitz)}\n${JSON.stringify(foxpass)}\n`);
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.deepEqual(sent.body.ids, ['42', '42']);

  const bySource = async (source: string) =>
    waitFor(async () => {
      const r = await fetch(`${server.url}/v1/events/42?source=${source}`);
      return r.status === 200 ? ((await r.json()) as { source: string; actor?: string }) : null;
    }, `the ${source} event 42 stored`);
  assert.equal((await bySource('blitz')).actor, 'BIP-1');
  assert.equal((await bySource('foxpass')).actor, 'alice');
  const ambiguous = await fetch(`${server.url}/v1/events/42`);
  assert.equal(ambiguous.status, 409);
  const answer = (await ambiguous.json()) as { code: string; sources: string[]; error: string };
  assert.equal(answer.code, 'EVENT_ID_AMBIGUOUS');
  assert.deepEqual(answer.sources, ['blitz', 'foxpass']);
  assert.equal((await fetch(`${server.url}/v1/events/42?source=temporal`)).status, 404);
  const misspelt = await fetch(`${server.url}/v1/events/42?sorce=blitz`);
  assert.equal(misspelt.status, 400);
  assert.equal(((await misspelt.json()) as { parameter: string }).parameter, 'sorce');

  // Foxpass retries its event 42: delivered again, stored once, counted.
  assert.equal((await postEvents(server.url, `${JSON.stringify(foxpass)}\n`)).status, 202);
  const counted = await waitFor(async () => {
    const { emitters } = (await (await fetch(`${server.url}/v1/emitters`)).json()) as { emitters: { type: string; sink?: { duplicateEvents: number } }[] };
    const store = emitters.find((e) => e.type === 'audit-store');
    return store?.sink?.duplicateEvents === 1 ? store : null;
  }, 'the resend counted as a duplicate');
  assert.ok(counted);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^auditstream_store_duplicate_events_total\{component_id="[^"]+"\} 1$/m);
});
