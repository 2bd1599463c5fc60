import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'seeds');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

function logLines(dataDir: string): any[] {
  try {
    return readFileSync(join(dataDir, 'logs', 'audit.log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

test('the README walk-through: producer records posted to the embedded default reach the log file and search', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });

  const foxpass = await postEvents(server.url, JSON.parse(fixture('foxpass-ldap-bind.json')));
  assert.equal(foxpass.status, 202, JSON.stringify(foxpass.body));
  assert.equal(foxpass.body.accepted, 1);
  const blitz = await postEvents(server.url, fixture('blitz-login.json'), { 'content-type': 'application/json' });
  assert.equal(blitz.status, 202, JSON.stringify(blitz.body));
  const temporal = await postEvents(server.url, fixture('temporal-delete-user.json'), { 'content-type': 'application/json' });
  assert.equal(temporal.status, 202, JSON.stringify(temporal.body));

  const lines = await waitFor(() => (logLines(dataDir).length >= 3 ? logLines(dataDir) : null), 'three lines in the log file');
  assert.deepEqual(lines.map((l) => l.type).sort(), ['ldap.bind', 'login', 'temporal.DeleteUser']);
  const ldap = lines.find((l) => l.type === 'ldap.bind');
  assert.equal(ldap.actor, 'alice');
  assert.equal(ldap.time, '2018-01-15T14:29:38.175Z');
  assert.deepEqual(JSON.parse(ldap.raw), JSON.parse(fixture('foxpass-ldap-bind.json')), 'raw keeps the original record');

  const found = await waitFor(async () => {
    const res = await fetch(`${server.url}/v1/events?type=login`);
    const page = (await res.json()) as { events: any[] };
    return page.events.length === 1 ? page.events[0] : null;
  }, 'the Blitz login in the audit store');
  assert.equal(found.id, '6056828858453673-600312119');
  assert.equal(found.sessionId, 'f8d85ba2-a26a-447f-b82e-944b9218abb8');
  assert.equal(found.clientIp, '213.230.116.179');

  const byActor = (await (await fetch(`${server.url}/v1/events?actor=user1@example.com`)).json()) as { events: any[] };
  assert.equal(byActor.events.length, 1);
  assert.equal(byActor.events[0].type, 'temporal.DeleteUser');
  const all = (await (await fetch(`${server.url}/v1/events?limit=2`)).json()) as { events: any[]; nextCursor?: string };
  assert.equal(all.events.length, 2);
  assert.ok(all.nextCursor, 'a cursor to the next page');
  const rest = (await (await fetch(`${server.url}/v1/events?limit=2&cursor=${all.nextCursor}`)).json()) as { events: any[] };
  assert.equal(rest.events.length, 1);
  const ids = new Set([...all.events, ...rest.events].map((e) => e.id));
  assert.equal(ids.size, 3, 'pages do not overlap');
});

test('bad input gets a clear error and the rest of the batch is delivered', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { limits: { maxBodyBytes: 64 * 1024, maxEventBytes: 2048 } } } });

  const malformed = await postEvents(server.url, '{"type": "login", "time": ', { 'content-type': 'application/json' });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.code, 'BODY_MALFORMED');
  assert.match(malformed.body.error, /malformed JSON/);

  const unknownType = await postEvents(server.url, 'type=login', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(unknownType.status, 415);
  assert.match(unknownType.body.error, /application\/x-ndjson/);

  const huge = await postEvents(server.url, `{"type":"login","time":"2024-01-01T00:00:00Z","pad":"${'x'.repeat(70 * 1024)}"}`, { 'content-type': 'application/json' });
  assert.equal(huge.status, 413);
  assert.match(huge.body.error, /maxBodyBytes/);

  const ndjson = [
    '{"type":"login","time":"2024-01-01T00:00:00Z","actor":"bob","id":"ok-1"}',
    '{"type":"login", oops',
    `{"type":"login","time":"2024-01-01T00:00:01Z","pad":"${'y'.repeat(3000)}"}`,
    '{"time":"2024-01-01T00:00:02Z"}',
    '{"type":"logout","time":"2024-01-01T00:00:03Z","actor":"bob","id":"ok-2"}',
  ].join('\n');
  const mixed = await postEvents(server.url, ndjson);
  assert.equal(mixed.status, 202, JSON.stringify(mixed.body));
  assert.equal(mixed.body.accepted, 2);
  assert.deepEqual(mixed.body.rejected.map((r: { index: number }) => r.index), [1, 2, 3]);
  assert.match(mixed.body.rejected[0].error, /line 2: not JSON/);
  assert.match(mixed.body.rejected[1].error, /maxEventBytes/);
  assert.match(mixed.body.rejected[2].error, /type/);

  const gz = await fetch(`${server.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
    body: gzipSync('{"type":"login","time":"2024-01-01T00:00:04Z","id":"gz-1"}\n'),
  });
  assert.equal(gz.status, 202);
  const notGzip = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: '{"a":1}' });
  assert.equal(notGzip.status, 400);

  await waitFor(() => logLines(dataDir).length === 3, 'the three good events in the log');
  assert.deepEqual(logLines(dataDir).map((l) => l.id), ['ok-1', 'ok-2', 'gz-1']);
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200, 'the server stays up');
});

test('with server.apiKeys set, /v1 requests need a valid Bearer key', async (t) => {
  const dataDir = await tempDir(t);
  const key = 'k-0123456789abcdef-test';
  const server = await startServer(t, { dataDir, config: { server: { apiKeys: [key] } } });
  const event = { type: 'login', time: '2024-01-01T00:00:00Z' };
  assert.equal((await postEvents(server.url, event)).status, 401);
  const wrong = await postEvents(server.url, event, { authorization: 'Bearer nope-nope-nope-nope' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.body.error, /not valid/);
  assert.equal((await postEvents(server.url, event, { authorization: `Bearer ${key}` })).status, 202);
  assert.equal((await fetch(`${server.url}/v1/events`)).status, 401);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test('/metrics reports accepted and rejected events and per-emitter delivery', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  await postEvents(server.url, '{"type":"login","time":"2024-01-01T00:00:00Z"}\n{"bad":1}\n');
  await waitFor(async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return ['log', 'audit-store'].every((id) => new RegExp(`auditstream_component_sent_events_total\\{[^}]*component_id="${id}"[^}]*\\} 1$`, 'm').test(text));
  }, 'both emitters sent 1');
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(text, /auditstream_component_sent_events_total\{component_kind="source",component_id="http",component_type="http"\} 1$/m);
  assert.match(text, /auditstream_component_errors_total\{component_kind="source",component_id="http",component_type="http",error_type="invalid_event",stage="processing"\} 1$/m);
  assert.match(text, /auditstream_component_sent_events_total\{[^}]*component_id="log"[^}]*\} 1$/m);
  assert.match(text, /auditstream_buffer_events\{component_kind="sink",component_id="log",component_type="log"\} 0$/m);
  const emitters = (await (await fetch(`${server.url}/v1/emitters`)).json()) as { emitters: any[] };
  assert.deepEqual(emitters.emitters.map((e) => [e.name, e.type, e.depth]), [['log', 'log', 0], ['audit-store', 'audit-store', 0]]);
});

test('a bad config fails at start-up naming the key', async (t) => {
  const dataDir = await tempDir(t);
  await assert.rejects(
    startServer(t, { dataDir, config: { audit: { emitters: [{ type: 'log' }, { type: 'audit-store' }, { type: 'log', name: 'admins', include: ['logn'] }] } } }),
    (err: Error) => /audit\.emitters\[2\]\.include\[0\]: unknown event type "logn" \(did you mean "login"/.test(err.message),
  );
});
