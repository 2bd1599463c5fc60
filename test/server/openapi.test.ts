import { dereference, validate, compileErrors } from '@readme/openapi-parser';
import { Ajv } from 'ajv';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openRaw, parseResponse, rawRequest } from '../support/raw-http.js';
import { postEvents, startServer } from '../support/server-process.js';
import { appWithRoutes } from '../support/app-routes.js';
import { blockedDir, tempDir, waitFor } from '../support/temp.js';

const KEY = 'openapi-test-key-0123456789';
const AUTH = { authorization: `Bearer ${KEY}` };

type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };

/** The document as a server serves it, checked by an OpenAPI validator, and with every $ref resolved. */
async function fetchDocument(url: string): Promise<Doc> {
  const res = await fetch(`${url}/openapi.json`);
  assert.equal(res.status, 200, 'served without a key');
  const doc = (await res.json()) as Doc;
  assert.equal(doc.openapi, '3.1.0');
  const result = await validate(structuredClone(doc) as never);
  assert.ok(result.valid, `not a valid OpenAPI 3.1 document:\n${result.valid ? '' : compileErrors(result)}`);
  return (await dereference(structuredClone(doc) as never)) as unknown as Doc;
}

/** Checks an answer against the schema the document gives for this route, method and status. */
function conforms(doc: Doc, path: string, method: string, answer: { status: number; body: unknown; contentType?: string }): void {
  const what = `${method.toUpperCase()} ${path} ${answer.status}`;
  const response = doc.paths[path]?.[method]?.responses[String(answer.status)];
  assert.ok(response, `${what} is not documented`);
  const schema = response.content?.['application/json']?.schema;
  assert.ok(schema, `${what} has no JSON schema`);
  const check = new Ajv({ strict: false, allErrors: true }).compile(schema);
  assert.ok(check(answer.body), `${what}: ${JSON.stringify(answer.body).slice(0, 500)} does not match the documented schema: ${JSON.stringify(check.errors)}`);
}

async function json(res: Response) {
  return { status: res.status, body: await res.json() };
}

test('/openapi.json is a valid OpenAPI 3.1 document naming every registered route, every method, and nothing else', async (t) => {
  const { url, routes } = await appWithRoutes(t, await tempDir(t), [KEY]);
  const doc = await fetchDocument(url);

  const registered = routes.flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => `${m} ${r.url.replace(/:(\w+)/g, '{$1}')}`)).sort();
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
  assert.ok(registered.length >= 18, registered.join(', '));
  assert.deepEqual(documented, registered);

  // Every error answer of every operation is the {error, code} shape.
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const status of ['400', '404', '408', '414', '431', '500']) assert.ok(op.responses[status], `${method} ${path} documents ${status}`);
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const schema = response.content?.['application/json']?.schema as { required?: string[]; properties?: Record<string, { type?: string }> } | undefined;
        assert.ok(schema?.required?.includes('error') && schema.required.includes('code'), `${method} ${path} ${status} requires error and code`);
        assert.equal(schema?.properties?.error?.type, 'string', `${method} ${path} ${status}: error is a string`);
        assert.equal(schema?.properties?.code?.type, 'string', `${method} ${path} ${status}: code is a string`);
      }
    }
  }
});

test("a real server's answers, errors included, match the schemas its /openapi.json documents", async (t) => {
  const dataDir = await tempDir(t);
  // A regular file where the second log's directory should be: that log retries and its small queue fills (429, /readyz 503).
  const blocked = blockedDir(dataDir);
  const server = await startServer(t, {
    dataDir,
    config: {
      server: { apiKeys: [KEY], limits: { maxBodyBytes: 20_000, maxEventBytes: 1000, maxEventsPerRequest: 10 }, timeouts: { headersSec: 1, requestSec: 2 } },
      audit: {
        eventTypes: ['stuck'],
        emitters: [
          { type: 'audit-store', exclude: ['stuck'] },
          { type: 'log', name: 'stuck', file: join(blocked, 'audit.log'), queue: { maxBytes: 8000 }, include: ['stuck'] },
          { type: 'log', name: 'off', logger: 'OFF', enabled: false },
        ],
      },
    },
  });
  const doc = await fetchDocument(server.url);
  const post = (body: object | string, headers: Record<string, string> = {}) => postEvents(server.url, body, { ...AUTH, ...headers });

  // What works.
  const accepted = await post([{ id: 'a1', type: 'login', time: '2024-01-01T00:00:00Z', actor: 'alice', extra: { nested: [1, 2] } }, { type: 'login' }]);
  assert.equal(accepted.status, 202);
  conforms(doc, '/v1/events', 'post', accepted);
  const ingest = (doc as any).paths['/v1/events'].post;
  assert.ok(ingest.requestBody.content['text/plain'], 'the text/plain body is documented');
  const format = ingest.parameters.find((p: { name: string }) => p.name === 'format');
  assert.deepEqual([format?.in, format?.schema.enum], ['query', ['auto', 'vpc-flow', 'blitz']]);
  const vpcLine = '2 123456789010 eni-1235b8ca 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1618530010 1618530070 ACCEPT OK';
  const text = await json(await fetch(`${server.url}/v1/events?format=vpc-flow`, { method: 'POST', headers: { ...AUTH, 'content-type': 'text/plain' }, body: `${vpcLine}\nnot a line\n` }));
  assert.equal(text.status, 202, JSON.stringify(text.body));
  conforms(doc, '/v1/events', 'post', text);
  await waitFor(async () => (await fetch(`${server.url}/v1/events/a1`, { headers: AUTH })).status === 200, 'a1 stored');
  const event = await json(await fetch(`${server.url}/v1/events/a1`, { headers: AUTH }));
  conforms(doc, '/v1/events/{id}', 'get', event);
  assert.deepEqual(event.body.details.extra, { nested: [1, 2] }, 'open details are answered whole');
  conforms(doc, '/v1/events', 'get', await json(await fetch(`${server.url}/v1/events?actor=alice&limit=1`, { headers: AUTH })));
  conforms(doc, '/v1/emitters', 'get', await json(await fetch(`${server.url}/v1/emitters`, { headers: AUTH })));
  conforms(doc, '/v1/emitters/{name}/test', 'post', await json(await fetch(`${server.url}/v1/emitters/off/test`, { method: 'POST', headers: AUTH })));
  conforms(doc, '/v1/sources', 'get', await json(await fetch(`${server.url}/v1/sources`, { headers: AUTH })));
  for (const path of ['/healthz', '/livez', '/readyz', '/openapi.json']) conforms(doc, path, 'get', await json(await fetch(`${server.url}${path}`)));

  // Every kind of error answer, each in the documented {error, code} shape.
  const errors: [path: string, method: string, status: number, code: string, answer: () => Promise<{ status: number; body: unknown }>][] = [
    ['/healthz', 'get', 400, 'HTTP_MALFORMED', async () => raw(await rawRequest(server.url, 'get /healthz'))],
    ['/v1/events/{id}', 'get', 400, 'BAD_URL', async () => raw(await rawRequest(server.url, 'GET /v1/events/%E0%A4%A', AUTH))],
    ['/v1/events', 'get', 400, 'QUERY_INVALID', () => fetch(`${server.url}/v1/events?type=a&type=b`, { headers: AUTH }).then(json)],
    ['/v1/events', 'get', 400, 'QUERY_INVALID', () => fetch(`${server.url}/v1/events?limit=0`, { headers: AUTH }).then(json)],
    ['/v1/events', 'post', 400, 'BODY_MALFORMED', () => post('{"type":', { 'content-type': 'application/json' })],
    ['/v1/events', 'post', 400, 'NO_VALID_EVENTS', () => post({ type: 'login', time: 'never' })],
    ['/v1/emitters', 'get', 401, 'UNAUTHORIZED', () => fetch(`${server.url}/v1/emitters`).then(json)],
    ['/v1/events/{id}', 'get', 404, 'NOT_FOUND', () => fetch(`${server.url}/v1/events/nope`, { headers: AUTH }).then(json)],
    ['/v1/emitters/{name}/test', 'post', 404, 'NOT_FOUND', () => fetch(`${server.url}/v1/emitters/nope/test`, { method: 'POST', headers: AUTH }).then(json)],
    ['/healthz', 'get', 404, 'ROUTE_NOT_FOUND', () => fetch(`${server.url}/healthz/nothing-here`).then(json)],
    ['/healthz', 'get', 408, 'REQUEST_TIMEOUT', () => slowHeaders(server.url)],
    ['/v1/events', 'post', 413, 'BODY_TOO_LARGE', () => post(`${JSON.stringify({ type: 'login', message: 'x'.repeat(30_000) })}\n`)],
    ['/v1/events', 'post', 413, 'TOO_MANY_EVENTS', () => post(Array.from({ length: 11 }, () => ({})))],
    ['/v1/emitters/{name}/test', 'post', 413, 'BODY_TOO_LARGE', () => fetch(`${server.url}/v1/emitters/off/test`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: 'x'.repeat(30_000) }).then(json)],
    ['/v1/events/{id}', 'get', 414, 'URL_TOO_LONG', () => fetch(`${server.url}/v1/events/${'x'.repeat(4000)}`, { headers: AUTH }).then(json)],
    ['/v1/events', 'post', 415, 'UNSUPPORTED_MEDIA_TYPE', () => post('type=login', { 'content-type': 'application/x-www-form-urlencoded' })],
    ['/v1/events', 'post', 415, 'UNSUPPORTED_CHARSET', () => post('hello', { 'content-type': 'text/plain; charset=iso-8859-1' })],
    ['/v1/events', 'post', 400, 'FORMAT_INVALID', () => fetch(`${server.url}/v1/events?format=xml`, { method: 'POST', headers: { ...AUTH, 'content-type': 'text/plain' }, body: 'hello' }).then(json)],
    ['/v1/events', 'post', 415, 'UNSUPPORTED_ENCODING', () => post({ type: 'login' }, { 'content-encoding': 'br' })],
    ['/v1/emitters/{name}/test', 'post', 415, 'UNSUPPORTED_MEDIA_TYPE', () => fetch(`${server.url}/v1/emitters/off/test`, { method: 'POST', headers: { ...AUTH, 'content-type': 'text/plain' }, body: 'x' }).then(json)],
    ['/healthz', 'get', 431, 'HEADERS_TOO_LARGE', async () => raw(await rawRequest(server.url, 'GET /healthz', { 'X-Big': 'b'.repeat(20_000) }))],
    ['/v1/events', 'post', 429, 'QUEUE_FULL', () => fillStuckQueue(post)],
    ['/readyz', 'get', 503, 'NOT_READY', () => fetch(`${server.url}/readyz`).then(json)],
  ];
  for (const [path, method, status, code, answer] of errors) {
    const got = await answer();
    assert.equal(got.status, status, `${code}: ${JSON.stringify(got.body)}`);
    assert.equal((got.body as { code: string }).code, code, JSON.stringify(got.body));
    conforms(doc, path, method, got);
  }
  assert.equal((await fetch(`${server.url}/livez`)).status, 200, 'the server is still up');
});

function raw(res: { status: number; json: unknown }) {
  return { status: res.status, body: res.json };
}

/** Headers that never finish: the server answers 408 once server.timeouts.headersSec passed, and closes. */
async function slowHeaders(url: string) {
  const conn = await openRaw(url);
  conn.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  await conn.closed;
  return raw(parseResponse(conn.received()));
}

/** Posts events only the stuck emitter takes until its queue refuses them. */
async function fillStuckQueue(post: (body: object) => ReturnType<typeof postEvents>) {
  let n = 0;
  return waitFor(async () => {
    const res = await post({ id: `s${n++}`, type: 'stuck', time: '2024-01-01T00:00:00Z', message: 'x'.repeat(200) });
    return res.status === 429 ? res : null;
  }, 'a 429 from the full queue');
}
