/**
 * Search reads the audit store through the SearchService the server is
 * given (AppOptions.search), built by the pipeline from its first enabled
 * audit-store emitter. Real pipelines, real SQLite files, real servers on
 * loopback.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import type { SearchService } from '../../src/store/search-service.js';
import { freePort } from '../support/free-port.js';
import { postEvents } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const logger = pino({ level: 'silent' });

async function startPipeline(t: TestContext, emitters: unknown[]): Promise<Pipeline> {
  const dataDir = await tempDir(t);
  const config = parseConfig(configSchema, { dataDir, server: { listen: '127.0.0.1:0' }, audit: { emitters } }, '');
  const pipeline = await Pipeline.start(config, logger);
  t.after(() => pipeline.stop(1000));
  return pipeline;
}

async function listen(t: TestContext, pipeline: Pipeline, search: SearchService): Promise<string> {
  const app = buildApp({ config: pipeline.config, pipeline, search, logger });
  t.after(() => app.close());
  return app.listen({ host: '127.0.0.1', port: 0 });
}

async function searchIds(url: string): Promise<string[]> {
  const res = await fetch(`${url}/v1/events`);
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { events: { id: string }[] }).events.map((e) => e.id).sort();
}

test('the server searches the store service it is given, not a store it finds among its own emitters', async (t) => {
  // The server's own pipeline has no audit store; the service it is given reads another pipeline's.
  const ingest = await startPipeline(t, [{ type: 'log', name: 'log' }]);
  const stored = await startPipeline(t, [{ type: 'audit-store', name: 'store' }]);
  const storedUrl = await listen(t, stored, stored.search);
  assert.equal((await postEvents(storedUrl, [{ id: 'e-1', type: 'login', time: '2024-01-01T00:00:00Z' }])).status, 202);
  await waitFor(async () => ((await searchIds(storedUrl)).length === 1 ? true : null), 'e-1 stored');

  const url = await listen(t, ingest, stored.search);
  assert.deepEqual(await searchIds(url), ['e-1']);
  const one = await fetch(`${url}/v1/events/e-1`);
  assert.equal(one.status, 200);
  assert.equal(((await one.json()) as { id: string }).id, 'e-1');

  // Given its own pipeline's service (no audit-store emitter), the same server says there is nothing to search.
  const own = await listen(t, ingest, ingest.search);
  for (const path of ['/v1/events', '/v1/events/e-1']) {
    const res = await fetch(`${own}${path}`);
    assert.equal(res.status, 404, path);
    assert.deepEqual(await res.json(), { error: 'no enabled audit-store emitter is configured, so there is nothing to search', code: 'NO_AUDIT_STORE' });
  }
});

test('with several audit-store emitters the first enabled one answers search, through the store its sink writes to', async (t) => {
  const pipeline = await startPipeline(t, [
    { type: 'audit-store', name: 'off', enabled: false, url: 'sqlite:off.db' },
    { type: 'audit-store', name: 'first', url: 'sqlite:first.db', include: ['login'] },
    { type: 'audit-store', name: 'second', url: 'sqlite:second.db', include: ['logout'] },
  ]);
  assert.equal(pipeline.search.emitter, 'first');
  const url = await listen(t, pipeline, pipeline.search);
  const sent = await postEvents(url, [
    { id: 'in', type: 'login', time: '2024-01-01T00:00:00Z' },
    { id: 'out', type: 'logout', time: '2024-01-01T00:00:01Z' },
  ]);
  assert.equal(sent.status, 202);
  await waitFor(async () => (pipeline.emitters.every((e) => e.status().depth === 0) ? true : null), 'both stores written');
  assert.deepEqual(await searchIds(url), ['in'], 'only the first store answers');
  assert.equal(await pipeline.search.count(), 1);
});

test('an audit store that is down answers search with 503 and Retry-After, naming the store; the server stays up', async (t) => {
  const port = await freePort(); // nothing listens there
  const pipeline = await startPipeline(t, [{ type: 'audit-store', name: 'pg', url: `postgres://postgres@127.0.0.1:${port}/audit` }]);
  const url = await listen(t, pipeline, pipeline.search);
  for (const path of ['/v1/events', '/v1/events/some-id']) {
    const res = await fetch(`${url}${path}`);
    assert.equal(res.status, 503, path);
    assert.equal(res.headers.get('retry-after'), '5');
    const body = (await res.json()) as { error: string; code: string };
    assert.equal(body.code, 'STORE_UNAVAILABLE');
    assert.match(body.error, new RegExp(`127\\.0\\.0\\.1:${port}`));
  }
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});
