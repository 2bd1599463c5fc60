import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startHttpReceiver } from '../support/http-receiver.js';
import { startTenantApp } from '../support/tenant-app.js';

const ADMIN = 'manage-bodies-test-admin-key-0123456789';

/** One request with exactly these headers and body bytes (fetch would pick a Content-Type of its own). */
function send(base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} });
      });
    });
    // The server may answer and close before the whole of a refused body is written.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(body);
  });
}

const json = (value: unknown) => JSON.stringify(value);
const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

test('tenant, key and destination routes take application/json (and merge-patch on PATCH) only, and answer 415 naming what they take', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] } } });
  const rx = await startHttpReceiver(t, () => ({ status: 200 }));
  const JSON_CT = { 'content-type': 'application/json' };

  const made = await send(app.url, 'POST', '/v1/tenants', { 'content-type': 'application/json; charset=utf-8' }, json({ id: 'acme', name: 'Acme' }));
  assert.equal(made.status, 201, json(made.body));
  for (const [method, path, body] of [
    ['POST', '/v1/tenants', json({ id: 'globex', name: 'Globex' })],
    ['PATCH', '/v1/tenants/acme', json({ name: 'Acme Inc' })],
    ['POST', '/v1/tenants/acme/keys', json({ name: 'k', scopes: ['read'] })],
    ['POST', '/v1/tenants/acme/destinations', json({ name: 'hook', type: 'http', url: `${rx.url}/in` })],
  ] as const) {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/x-ndjson']) {
      const refused = await send(app.url, method, path, { 'content-type': type }, body);
      assert.equal(refused.status, 415, `${method} ${path} ${type}: ${json(refused.body)}`);
      assert.equal(refused.body.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.ok(refused.body.accepted.includes('application/json'), json(refused.body));
      assert.match(refused.body.error, /application\/json/);
    }
    const none = await send(app.url, method, path, {}, body);
    assert.equal(none.status, 415, `${method} ${path} without a Content-Type`);
  }
  // merge-patch+json is what a PATCH is; a POST refuses it, naming application/json only.
  const post = await send(app.url, 'POST', '/v1/tenants', { 'content-type': 'application/merge-patch+json' }, json({ id: 'globex', name: 'Globex' }));
  assert.equal(post.status, 415);
  assert.deepEqual(post.body.accepted, ['application/json']);
  const renamed = await send(app.url, 'PATCH', '/v1/tenants/acme', { 'content-type': 'application/merge-patch+json' }, json({ name: 'Acme Inc' }));
  assert.equal(renamed.status, 200, json(renamed.body));
  assert.equal(renamed.body.name, 'Acme Inc');
  const hook = await send(app.url, 'POST', '/v1/tenants/acme/destinations', JSON_CT, json({ name: 'hook', type: 'http', url: `${rx.url}/in` }));
  assert.equal(hook.status, 201, json(hook.body));
  const included = await send(app.url, 'PATCH', '/v1/tenants/acme/destinations/hook', { 'content-type': 'application/merge-patch+json' }, json({ include: ['login'] }));
  assert.equal(included.status, 200, json(included.body));
  assert.deepEqual(included.body.destination.config.include, ['login']);
  const refusedPatch = await send(app.url, 'PATCH', '/v1/tenants/acme/destinations/hook', { 'content-type': 'text/plain' }, json({ include: ['logout'] }));
  assert.equal(refusedPatch.status, 415);
  assert.deepEqual(refusedPatch.body.accepted, ['application/json', 'application/merge-patch+json']);

  // An empty body is no body, whatever its type: a pause needs none; a create or a destination PATCH without one is a 400 naming what is missing.
  assert.equal((await send(app.url, 'POST', '/v1/tenants/acme/destinations/hook/pause', { 'content-type': 'text/plain', 'content-length': '0' })).status, 200);
  assert.equal((await send(app.url, 'POST', '/v1/tenants/acme/destinations/hook/resume', { ...JSON_CT, 'content-length': '0' })).status, 200);
  const empty = await send(app.url, 'POST', '/v1/tenants', { ...JSON_CT, 'content-length': '0' });
  assert.equal(empty.status, 400, json(empty.body));
  assert.equal(empty.body.parameter, 'id');
  const noPatch = await send(app.url, 'PATCH', '/v1/tenants/acme/destinations/hook', { ...JSON_CT, 'content-length': '0' });
  assert.equal(noPatch.status, 400, json(noPatch.body));
  assert.equal(noPatch.body.parameter, 'body');
});

test('tenant and key bodies are bounded at 16 KiB and destination bodies at 64 KiB, well under the ingest limit, and every one in depth', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN, tenants: { destinationPolicy: { allowNetworks: ['127.0.0.1/32'] } } });
  const rx = await startHttpReceiver(t, () => ({ status: 200 }));
  const JSON_CT = { 'content-type': 'application/json' };
  assert.equal((await send(app.url, 'POST', '/v1/tenants', JSON_CT, json({ id: 'acme', name: 'Acme' }))).status, 201);

  // 17 KiB: far below server.limits.maxBodyBytes (ingest's), over a tenant or key body's bound, whatever is in it.
  const padded = (o: Record<string, unknown>, bytes: number) => json({ ...o, pad: 'x'.repeat(bytes) });
  for (const [method, path, body] of [
    ['POST', '/v1/tenants', padded({ id: 'big', name: 'Big' }, 17 * 1024)],
    ['PATCH', '/v1/tenants/acme', padded({ name: 'Acme' }, 17 * 1024)],
    ['POST', '/v1/tenants/acme/keys', padded({ name: 'k', scopes: ['read'] }, 17 * 1024)],
  ] as const) {
    const big = await send(app.url, method, path, JSON_CT, body);
    assert.equal(big.status, 413, `${method} ${path}: ${json(big.body)}`);
    assert.equal(big.body.code, 'BODY_TOO_LARGE');
    assert.equal(big.body.maxBytes, 16384);
    assert.match(big.body.error, /a tenant or key body may take at most 16384 bytes/);
    assert.equal(big.headers.connection, 'close', 'the unread rest of the body is not left on a kept-alive connection');
    // Counted after gzip is undone: a small compressed body that inflates past the bound is refused as well.
    const zipped = await send(app.url, method, path, { ...JSON_CT, 'content-encoding': 'gzip' }, gzipSync(body));
    assert.equal(zipped.status, 413, `${method} ${path} gzip: ${json(zipped.body)}`);
    const tooDeep = await send(app.url, method, path, JSON_CT, deep(65));
    assert.equal(tooDeep.status, 400, `${method} ${path} deep: ${json(tooDeep.body)}`);
    assert.equal(tooDeep.body.code, 'BODY_MALFORMED');
    assert.match(tooDeep.body.error, /server\.limits\.maxDepth \(64\)/);
  }
  // Just under the bound is read and judged by its fields, not its size.
  const unknownField = await send(app.url, 'POST', '/v1/tenants', JSON_CT, padded({ id: 'big', name: 'Big' }, 15 * 1024));
  assert.equal(unknownField.status, 400);
  assert.equal(unknownField.body.parameter, 'pad');
  // A chunked body (no Content-Length) is bounded as it is read.
  const chunked = await send(app.url, 'POST', '/v1/tenants', { ...JSON_CT, 'transfer-encoding': 'chunked' }, padded({ id: 'big', name: 'Big' }, 40 * 1024));
  assert.equal(chunked.status, 413);

  // A destination may take 64 KiB, so 17 KiB passes the size check and 65 KiB does not.
  const include = (n: number) => Array.from({ length: n }, () => 'login');
  const ok = await send(app.url, 'POST', '/v1/tenants/acme/destinations', JSON_CT, json({ name: 'hook', type: 'http', url: `${rx.url}/in`, include: include(3000) }));
  assert.equal(ok.status, 201, json(ok.body));
  const big = await send(app.url, 'POST', '/v1/tenants/acme/destinations', JSON_CT, json({ name: 'wide', type: 'http', url: `${rx.url}/in`, include: include(10_000) }));
  assert.equal(big.status, 413);
  assert.equal(big.body.maxBytes, 65536);
  assert.match(big.body.error, /a destination's JSON may take at most 65536 bytes/);
  assert.equal(big.headers.connection, 'close');

  assert.equal((await send(app.url, 'GET', '/v1/tenants/big', {})).status, 404, 'nothing refused was stored');
});

test('/openapi.json documents the body types, 413 and 415 of the manage routes', async (t) => {
  const app = await startTenantApp(t, { adminKey: ADMIN });
  const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { requestBody?: { content: object }; responses: object }>> };
  const op = (path: string, method: string) => doc.paths[path]![method]!;
  for (const path of ['/v1/tenants/{tenant}', '/v1/tenants/{tenant}/destinations/{name}']) {
    assert.deepEqual(Object.keys(op(path, 'patch').requestBody!.content).sort(), ['application/json', 'application/merge-patch+json'], path);
  }
  for (const [path, method] of [['/v1/tenants', 'post'], ['/v1/tenants/{tenant}', 'patch'], ['/v1/tenants/{tenant}/keys', 'post'], ['/v1/tenants/{tenant}/destinations', 'post']]) {
    assert.deepEqual(Object.keys(op(path!, method!).requestBody!.content), method === 'patch' ? ['application/json', 'application/merge-patch+json'] : ['application/json']);
    for (const status of ['413', '415']) assert.ok(status in op(path!, method!).responses, `${method} ${path} documents ${status}`);
  }
});
