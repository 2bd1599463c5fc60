import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawRequest, type RawResponse } from '../support/raw-http.js';
import { startServer } from '../support/server-process.js';
import { appWithRoutes } from '../support/app-routes.js';
import { tempDir, waitFor } from '../support/temp.js';

const KEY = 'test-api-key-0123456789';
const EVENT = JSON.stringify({ type: 'login', time: '2024-01-01T00:00:00Z', actor: 'intruder' });

/** What the router or the HTTP parser answers when no route runs: no handler was reached. */
const NO_HANDLER = new Set(['ROUTE_NOT_FOUND', 'BAD_URL', 'HTTP_MALFORMED']);

// Every spelling a proxy, a client or an attacker might use for a path: each must be checked on the route it lands on.
const VARIANTS: [method: string, target: string][] = [
  ...[
    '/v1/events',
    '/%761/events',
    '/%76%31/events',
    '/v%31/events',
    '/v1/%65vents',
    '/v1/event%73',
    '/%76%31/%65%76%65%6e%74%73',
    '/%2fv1/events',
    '/v1%2Fevents',
    '/v1%2fevents',
    'http://x/v1/events',
    'http://127.0.0.1/v1/events',
    'HTTP://X/v1/events',
    'http://x/%761/events',
    'http://x//v1/events',
    '/V1/events',
    '/v1/EVENTS',
    '/V1/EVENTS',
    '/./v1/events',
    '/v1/./events',
    '/v1/../v1/events',
    '/x/../v1/events',
    '/%2e/v1/events',
    '/v1/%2e%2e/v1/events',
    '/healthz/../v1/events',
    '/metrics/../v1/events',
    '/healthz/%2e%2e/v1/events',
    '/healthz%2f..%2fv1/events',
    '/healthz;/../v1/events',
    '//v1/events',
    '/v1//events',
    '///v1///events',
    '/v1/events/',
    '/v1/events;x',
    '/v1/events;jsessionid=1',
    '/v1;x/events',
    '/v1/events?x=1',
    '/v1/events?type=login&limit=1',
    '/v1/events#frag',
    '/v1/events%00',
    '/v1/events%20',
    '/v1/events%2F',
    '/v1/events/x',
    '/v1/events/%2e%2e',
    '/v1/events/%E0%A4%A',
    '/v1/emitters',
    '/v1/emitters/',
    '/%76%31/%65mitters',
    '/v1/sources',
    '/v1/%73ources',
    '/v1\\events',
  ].map((target): [string, string] => ['GET', target]),
  ['HEAD', '/v1/events'],
  ['HEAD', '/%761/events'],
  ['HEAD', 'http://x/v1/emitters'],
  ['OPTIONS', '*'],
  ['OPTIONS', '/v1/events'],
  ['POST', '/v1/events'],
  ['POST', '/%761/events'],
  ['POST', '/v%31/events'],
  ['POST', 'http://x/v1/events'],
  ['POST', '/v1/events/'],
  ['POST', '/v1/emitters/log/test'],
  ['POST', '/v%31/emitters/log/test'],
  ['POST', '/v1/emitters/%6cog/test'],
  ['POST', 'http://x/v1/emitters/log/test'],
  ['POST', '/v1/emitters/log/test/'],
];

async function send(url: string, method: string, target: string, auth: string | undefined): Promise<RawResponse> {
  const headers: Record<string, string> = auth ? { Authorization: auth } : {};
  if (method === 'POST') headers['Content-Type'] = 'application/json';
  return rawRequest(url, `${method} ${target}`, headers, method === 'POST' ? EVENT : '');
}

test('the API key is checked on the route the router matched: no spelling of a path reaches a handler without one', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { apiKeys: [KEY] } } });

  let reachedWithKey = 0;
  for (const [method, target] of VARIANTS) {
    const what = `${method} ${target}`;
    const anonymous = await send(server.url, method, target, undefined);
    const wrongKey = await send(server.url, method, target, 'Bearer not-the-key-0123456789');
    const keyed = await send(server.url, method, target, `Bearer ${KEY}`);
    for (const [who, res] of [['without a key', anonymous], ['with a wrong key', wrongKey]] as const) {
      assert.ok(res.status < 200 || res.status >= 300, `${what} ${who} answered ${res.status} ${res.body}`);
      assert.ok([400, 401, 404].includes(res.status), `${what} ${who} answered ${res.status} ${res.body}`);
      if (method !== 'HEAD') assert.equal(typeof res.json?.error, 'string', `${what} ${who}: {error, code} body, got ${res.body}`);
    }
    // A handler ran for this spelling when it had a key: without one it must have been refused, not routed elsewhere.
    const handlerRan = method === 'HEAD' ? keyed.status !== 404 && keyed.status !== 400 : !NO_HANDLER.has(keyed.json?.code);
    if (handlerRan) {
      reachedWithKey++;
      assert.equal(anonymous.status, 401, `${what} without a key reached a handler: ${anonymous.status} ${anonymous.body}`);
      assert.equal(wrongKey.status, 401, `${what} with a wrong key reached a handler: ${wrongKey.status} ${wrongKey.body}`);
      assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
      if (method !== 'HEAD') {
        assert.equal(anonymous.json.code, 'UNAUTHORIZED');
        assert.match(anonymous.json.error, /missing "Authorization: Bearer/);
        assert.match(wrongKey.json.error, /API key is not valid/);
      }
    } else {
      assert.equal(anonymous.status, keyed.status, `${what}: the same refusal with or without a key (${keyed.body})`);
    }
  }
  // The normal spellings, and the encoded ones the router decodes, work with the key.
  for (const [method, target, status] of [
    ['GET', '/v1/events', 200],
    ['GET', '/%761/events', 200],
    ['GET', 'http://x/v1/events', 200],
    ['GET', '/v1/emitters', 200],
    ['GET', '/v1/sources', 200],
    ['HEAD', '/v1/events', 200],
    ['POST', '/v1/events', 202],
    ['POST', '/v%31/emitters/log/test', 200],
  ] as const) {
    const res = await send(server.url, method, target, `Bearer ${KEY}`);
    assert.equal(res.status, status, `${method} ${target} with the key: ${res.body}`);
  }
  t.diagnostic(`${VARIANTS.length} spellings, ${reachedWithKey} of them reach a handler with the key`);
  assert.ok(reachedWithKey >= 20, `only ${reachedWithKey} spellings reached a handler with the key: the variants test too little`);

  // Nothing sent without the key was taken in: the only "intruder" events are the ones posted with it.
  const search = await fetch(`${server.url}/v1/events?actor=intruder&limit=1000`, { headers: { authorization: `Bearer ${KEY}` } });
  const keyedPosts = VARIANTS.filter(([m]) => m === 'POST').length + 1;
  const found = ((await search.json()) as { events: unknown[] }).events.length;
  assert.ok(found <= keyedPosts, `${found} intruder events stored, at most ${keyedPosts} were posted with the key`);
  const anonymousSearch = await rawRequest(server.url, 'GET /v1/events?actor=intruder');
  assert.equal(anonymousSearch.status, 401);
  assert.equal(anonymousSearch.json.code, 'UNAUTHORIZED');
});

/** The public routes, by method and path. A route added to the API needs a key unless it is added here on purpose. */
const PUBLIC_ROUTES = [
  'GET /healthz',
  'GET /livez',
  'GET /metrics',
  'GET /openapi.json',
  'GET /readyz',
  'HEAD /healthz',
  'HEAD /livez',
  'HEAD /metrics',
  'HEAD /openapi.json',
  'HEAD /readyz',
];

test('every registered route refuses a missing or wrong key, except exactly the public allowlist', async (t) => {
  const { url, routes } = await appWithRoutes(t, await tempDir(t), [KEY]);

  const all = routes.flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => ({ method: m, path: r.url, public: r.config?.public === true })));
  t.diagnostic(`routes: ${all.map((r) => `${r.method} ${r.path}${r.public ? ' (public)' : ''}`).join(', ')}`);
  assert.ok(all.length >= 10, `only ${all.length} routes seen: ${all.map((r) => r.path).join(', ')}`);
  assert.ok(all.some((r) => r.method === 'POST' && r.path === '/v1/events'), 'the ingest route is in the list');
  assert.deepEqual(all.filter((r) => r.public).map((r) => `${r.method} ${r.path}`).sort(), PUBLIC_ROUTES, 'public routes are exactly the allowlist');

  for (const route of all) {
    const path = route.path.replace(/:(\w+)/g, (_m, name: string) => (name === 'name' ? 'log' : 'some-id'));
    const request = (auth?: string) =>
      fetch(`${url}${path}`, { method: route.method, headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, ...(route.method === 'POST' ? { body: '{}' } : {}) });
    const what = `${route.method} ${route.path}`;
    if (route.public) {
      assert.equal((await request()).status, 200, `${what} is public`);
      continue;
    }
    for (const auth of [undefined, 'Bearer wrong-key-0123456789abc', `Basic ${Buffer.from(`x:${KEY}`).toString('base64')}`, KEY]) {
      const res = await request(auth);
      assert.equal(res.status, 401, `${what} with ${auth ?? 'no Authorization header'} answered ${res.status}`);
      if (route.method !== 'HEAD') assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
    }
    const keyed = await request(`Bearer ${KEY}`);
    assert.notEqual(keyed.status, 401, `${what} with the key`);
  }
  // No route matched: a 404 in the API's shape, with or without a key.
  const unknown = await fetch(`${url}/v1/nothing-here`);
  assert.equal(unknown.status, 404);
  assert.deepEqual(Object.keys((await unknown.json()) as object).sort(), ['code', 'error']);
});

test('listening beyond loopback without apiKeys warns loudly at start; loopback, or keys, do not', async (t) => {
  const exposed = await startServer(t, { dataDir: await tempDir(t), listen: '0.0.0.0:0' });
  const warning = /reachable from other hosts, with no server\.apiKeys/;
  assert.match(exposed.stdout(), /^WARNING: listening on 0\.0\.0\.0:\d+, reachable from other hosts, with no server\.apiKeys/m);
  const line = await waitFor(() => exposed.stderr().split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => warning.test(l.msg)), 'a warn log line on stderr');
  assert.equal(line.level, 40, 'logged at warn');
  exposed.child.kill('SIGKILL');

  const loopback = await startServer(t, { dataDir: await tempDir(t) });
  const keyed = await startServer(t, { dataDir: await tempDir(t), listen: '0.0.0.0:0', config: { server: { apiKeys: [KEY] } } });
  for (const quiet of [loopback, keyed]) {
    // A warning would be printed before the listening line the start waited for.
    assert.doesNotMatch(quiet.stdout(), warning);
  }
});
