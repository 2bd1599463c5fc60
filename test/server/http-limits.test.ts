import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/core/errors.js';
import { openRaw, parseResponse, rawRequest, withDeadline, type RawConnection } from '../support/raw-http.js';
import { startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

/** Writes `chunks` one by one, `everyMs` apart, until the server closes the connection. */
function trickle(conn: RawConnection, chunks: () => string, everyMs: number): void {
  const timer = setInterval(() => {
    if (conn.socket.writable) conn.socket.write(chunks());
  }, everyMs);
  void conn.closed.then(() => clearInterval(timer));
}

test('server.timeouts and server.maxConnections have bounded defaults; a bad value names its key', () => {
  const { server } = parseConfig(configSchema, {}, '');
  assert.deepEqual(server.timeouts, { headersSec: 20, requestSec: 60, keepAliveSec: 72 });
  assert.equal(server.maxConnections, 1024);
  const refused = (value: object, path: string, message: RegExp) =>
    assert.throws(() => parseConfig(configSchema, { server: value }, ''), (err: unknown) => err instanceof ConfigError && err.path === path && message.test(err.problem));
  refused({ timeouts: { headersSec: 90 } }, 'server.timeouts.headersSec', /not be longer than server\.timeouts\.requestSec/);
  refused({ timeouts: { requestSec: 0 } }, 'server.timeouts.requestSec', />=1/);
  refused({ timeouts: { keepAlive: 5 } }, 'server.timeouts.keepAlive', /unknown key/);
  refused({ maxConnections: 0 }, 'server.maxConnections', />0/);
});

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /"level":(50|60)/.test(l));
}

test('a trickled body, a body shorter than its Content-Length, slow headers and idle keep-alive are cut off as server.timeouts say', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { timeouts: { headersSec: 1, requestSec: 2, keepAliveSec: 1 } } } });
  // Far above the configured seconds, far below forever: a server without these limits keeps every one of them open.
  const bound = 20_000;

  const slowBody = await openRaw(server.url);
  slowBody.socket.write('POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[');
  trickle(slowBody, () => '{}', 200);
  const shortBody = await openRaw(server.url);
  shortBody.socket.write('POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":');
  const slowHeaders = await openRaw(server.url);
  slowHeaders.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  let n = 0;
  trickle(slowHeaders, () => `X-${n++}: y\r\n`, 200);
  const keptAlive = await openRaw(server.url);
  keptAlive.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');

  // The server keeps answering others meanwhile.
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);

  for (const [what, conn, mentions] of [
    ['a trickled body', slowBody, /server\.timeouts\.requestSec \(2 s\)/],
    ['a body shorter than its Content-Length', shortBody, /server\.timeouts\.requestSec \(2 s\)/],
    ['headers sent a line at a time', slowHeaders, /server\.timeouts\.headersSec \(1 s\)/],
  ] as const) {
    await withDeadline(conn.closed, bound, `close of ${what}`);
    const res = parseResponse(conn.received());
    assert.equal(res.status, 408, `${what}: ${conn.received()}`);
    assert.deepEqual(Object.keys(res.json).sort(), ['code', 'error']);
    assert.equal(res.json.code, 'REQUEST_TIMEOUT');
    assert.match(res.json.error, mentions);
    assert.equal(res.headers.connection, 'close');
  }
  await withDeadline(keptAlive.closed, bound, 'close of an idle kept-alive connection');
  const answered = parseResponse(keptAlive.received());
  assert.equal(answered.status, 200, 'the kept-alive request itself was answered');
  assert.equal(keptAlive.received().match(/HTTP\/1\.1 /g)!.length, 1, 'and nothing else was sent on it');

  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the server is still up');
  assert.deepEqual(errorLines(server.stderr()), [], 'cut-off requests are not server errors');
});

test('connections over server.maxConnections are refused while the open ones are served', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { maxConnections: 4 } } });
  const held: RawConnection[] = [];
  const askHealth = async (conn: RawConnection) => {
    const before = conn.received().length;
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => /\r\n\r\n\{.*\}$/s.test(conn.received().slice(before)), 'a /healthz answer on a held connection');
    return parseResponse(conn.received().slice(before));
  };
  // An answered request proves the server accepted (and counts) the connection.
  for (let i = 0; i < 4; i++) {
    const conn = await openRaw(server.url);
    held.push(conn);
    assert.equal((await askHealth(conn)).status, 200);
  }
  t.after(() => held.forEach((c) => c.socket.destroy()));

  const over = await openRaw(server.url);
  over.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await withDeadline(over.closed, 20_000, 'refusal of the fifth connection');
  assert.equal(over.received(), '', 'the fifth connection is closed unanswered');

  assert.equal((await askHealth(held[0]!)).status, 200, 'an open connection is still served');
  await waitFor(() => /refused \d+ connection\(s\): server\.maxConnections \(4\) are open/.test(server.stderr()), 'a warning naming server.maxConnections');

  held.pop()!.socket.destroy();
  const res = await waitFor(() => rawRequest(server.url, 'GET /healthz').catch(() => undefined), 'a new connection once one closed');
  assert.equal(res.status, 200);
});

test('what the router and the HTTP parser refuse is answered in the {error, code} shape', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { limits: { maxBodyBytes: 1024 } } } });
  const cases: [what: string, send: () => Promise<ReturnType<typeof parseResponse>>, status: number, code: string, mentions: RegExp][] = [
    ['an unknown route', () => rawRequest(server.url, 'GET /v2/events'), 404, 'ROUTE_NOT_FOUND', /no route GET \/v2\/events/],
    ['an unknown method', () => rawRequest(server.url, 'DELETE /v1/events'), 404, 'ROUTE_NOT_FOUND', /no route DELETE \/v1\/events/],
    ['bad percent-encoding', () => rawRequest(server.url, 'GET /v1/events/%E0%A4%A'), 400, 'BAD_URL', /not valid percent-encoding/],
    ['a too long path parameter', () => rawRequest(server.url, `GET /v1/events/${'a'.repeat(10_000)}`), 414, 'URL_TOO_LONG', /path parameter/],
    ['headers over 16 KiB', () => rawRequest(server.url, 'GET /healthz', { 'X-Big': 'b'.repeat(20_000) }), 431, 'HEADERS_TOO_LARGE', /larger than \d+ bytes/],
    ['a lower-case method', () => rawRequest(server.url, 'get /healthz'), 400, 'HTTP_MALFORMED', /HPE_INVALID_METHOD/],
    ['two Content-Lengths', () => rawRequest(server.url, 'POST /v1/events', { 'Content-Type': 'application/json', 'Content-Length': '2\r\nContent-Length: 3' }, '{}'), 400, 'HTTP_MALFORMED', /HPE_/],
    ['a body over maxBodyBytes', () => rawRequest(server.url, 'POST /v1/events', { 'Content-Type': 'application/json' }, `[${'{},'.repeat(500)}{}]`), 413, 'BODY_TOO_LARGE', /maxBodyBytes/],
  ];
  for (const [what, send, status, code, mentions] of cases) {
    const res = await send();
    assert.equal(res.status, status, `${what}: ${res.body}`);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/, what);
    assert.deepEqual(Object.keys(res.json ?? {}).sort(), ['code', 'error'], `${what}: ${res.body}`);
    assert.equal(res.json.code, code, what);
    assert.match(res.json.error, mentions, what);
  }
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the server is still up');
  assert.deepEqual(errorLines(server.stderr()), []);
});
