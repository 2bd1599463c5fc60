/**
 * What one request may cost the server: events per request, the size of the
 * answer, the event loop's turn for other requests, nesting depth, bytes per
 * search page. Real servers on loopback; the event-loop ones run in this
 * process so its delay can be measured.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { AuditstreamConfig } from '../../src/config/schema.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { createPgDatabase } from '../support/pg-database.js';
import { postEvents, startServer } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

/** buildApp + listen on loopback in this process, so the test sees the server's event loop. */
async function inProcessServer(t: TestContext, limits: Partial<AuditstreamConfig['server']['limits']> = {}): Promise<string> {
  const dataDir = await tempDir(t);
  const { config } = loadConfig({ env: {}, overrides: { dataDir } });
  Object.assign(config.server.limits, limits);
  const logger = pino({ level: 'silent' });
  const pipeline = await Pipeline.start(config, logger);
  const app = buildApp({ config, pipeline, search: pipeline.search, logger });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await pipeline.stop(1000);
  });
  return address;
}

/**
 * Posts `body` while asking /healthz over and over on other connections, and
 * reports the longest the event loop was held meanwhile.
 */
async function postWatchingTheLoop(url: string, body: string, contentType: string) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let done = false;
  const health: number[] = [];
  const poll = (async () => {
    while (!done) health.push((await fetch(`${url}/healthz`)).status);
  })();
  try {
    const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text), maxDelayMs: delay.max / 1e6, health };
  } finally {
    done = true;
    await poll;
    delay.disable();
  }
}

/**
 * Event-loop delay is wall-clock time, and the server runs in this test's own
 * process: on a busy 2-core machine the OS alone adds hundreds of ms (570 ms
 * seen in a CI rehearsal beside other jobs, 1,078 ms in a full run beside
 * three benchmarks). The defect this guards against held the loop for 23 s,
 * so a bound well under that still catches it without failing on load.
 */
const LOOP_BOUND_MS = 5_000;

test('a body of 1.7 million records gets a small 413 naming maxEventsPerRequest, JSON array and NDJSON alike, without holding the event loop', async (t) => {
  const url = await inProcessServer(t);
  const n = 1_700_000;
  for (const [contentType, body] of [
    ['application/json', `[${Array(n).fill('{}').join(',')}]`],
    ['application/x-ndjson', '{}\n'.repeat(n)],
  ] as const) {
    const r = await postWatchingTheLoop(url, body, contentType);
    assert.equal(r.status, 413, r.text.slice(0, 300));
    assert.equal(r.body.code, 'TOO_MANY_EVENTS');
    assert.match(r.body.error, /more than 10000 events, over server\.limits\.maxEventsPerRequest \(10000\)/);
    assert.ok(r.text.length < 500, `a small answer (${r.text.length} bytes)`);
    assert.ok(r.maxDelayMs < LOOP_BOUND_MS, `${contentType}: the event loop was held ${r.maxDelayMs.toFixed(0)} ms`);
    assert.ok(r.health.every((s) => s === 200));
  }
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});

test('a big allowed body is read without holding the event loop; the answer lists the first 100 rejections and counts them all', async (t) => {
  const url = await inProcessServer(t, { maxEventsPerRequest: 100_000 });
  const n = 60_000;
  const records = Array.from({ length: n }, (_, i) =>
    i % 6_000 === 7 ? JSON.stringify({ type: 'login', time: '2024-01-01T00:00:00Z', id: `good-${i}` }) : '{}',
  );
  const r = await postWatchingTheLoop(url, `[${records.join(',')}]`, 'application/json');
  assert.equal(r.status, 202, r.text.slice(0, 300));
  assert.equal(r.body.accepted, 10);
  assert.deepEqual(r.body.ids, Array.from({ length: 10 }, (_, k) => `good-${k * 6_000 + 7}`));
  assert.equal(r.body.rejectedTotal, n - 10);
  assert.equal(r.body.rejected.length, 100);
  assert.deepEqual(r.body.rejected.slice(0, 8).map((x: { index: number }) => x.index), [0, 1, 2, 3, 4, 5, 6, 8]);
  assert.match(r.body.rejected[0].error, /type/);
  assert.ok(r.text.length < 20_000, `the answer is ${r.text.length} bytes`);
  assert.ok(r.maxDelayMs < LOOP_BOUND_MS, `the event loop was held ${r.maxDelayMs.toFixed(0)} ms`);
  assert.ok(r.health.length > 0 && r.health.every((s) => s === 200), '/healthz answered meanwhile');

  // No event at all: the 400 is bounded the same way.
  const none = await postEvents(url, '{}\n'.repeat(1000));
  assert.equal(none.status, 400);
  assert.equal(none.body.code, 'NO_VALID_EVENTS');
  assert.equal(none.body.rejected.length, 100);
  assert.equal(none.body.rejectedTotal, 1000);
});

test('a record that holds more events than maxEventsPerRequest is refused as a whole (413)', async (t) => {
  const url = await inProcessServer(t, { maxEventsPerRequest: 5 });
  const event = (i: number) => ({ type: 'login', time: '2024-01-01T00:00:00Z', id: `nested-${i}` });
  // One record, an array of six events: counted as it expands, not only as records.
  const over = await postEvents(url, [Array.from({ length: 6 }, (_, i) => event(i))]);
  assert.equal(over.status, 413);
  assert.equal(over.body.code, 'TOO_MANY_EVENTS');
  const six = await postEvents(url, Array.from({ length: 6 }, (_, i) => event(i)));
  assert.equal(six.status, 413);
  const five = await postEvents(url, Array.from({ length: 5 }, (_, i) => event(i)));
  assert.equal(five.status, 202, JSON.stringify(five.body));
});

test('one record of half a million elements (a CloudTrail Records array, a nested array) is a 413 before any is parsed, without holding the event loop', async (t) => {
  const url = await inProcessServer(t);
  // Each `0` is two bytes of the 1 MiB a record may take, and one refused element if parsed: 6.5 s of event loop each.
  const elements = Array(520_000).fill('0').join(',');
  for (const body of [`{"Records":[${elements}]}`, `[[${elements}]]`, `[{"Records":[${elements}]}]`]) {
    const r = await postWatchingTheLoop(url, body, 'application/json');
    assert.equal(r.status, 413, r.text.slice(0, 300));
    assert.equal(r.body.code, 'TOO_MANY_EVENTS');
    assert.match(r.body.error, /server\.limits\.maxEventsPerRequest \(10000\)/);
    assert.ok(r.maxDelayMs < LOOP_BOUND_MS, `${body.slice(0, 12)}: the event loop was held ${r.maxDelayMs.toFixed(0)} ms`);
  }
  // The elements count with the records around them: 9,999 records and a log file of two are over 10,000.
  const event = (i: number) => ({ type: 'login', time: '2024-01-01T00:00:00Z', id: `part-${i}` });
  const trail = { Records: [0, 1].map((i) => ({ eventVersion: '1.08', eventName: 'ConsoleLogin', eventTime: '2024-01-01T00:00:00Z', eventID: `trail-${i}` })) };
  const over = await postEvents(url, [...Array.from({ length: 9_999 }, (_, i) => event(i)), trail]);
  assert.equal(over.status, 413, JSON.stringify(over.body).slice(0, 300));
  const within = await postEvents(url, [...Array.from({ length: 9_998 }, (_, i) => event(i)), trail]);
  assert.equal(within.status, 202, JSON.stringify(within.body).slice(0, 300));
  assert.equal(within.body.accepted, 10_000);
});

/** An event nested exactly `depth` levels deep (the event object itself is level 1), built as text: no recursion. */
function deepEvent(id: string, depth: number): { text: string; chain: string } {
  const chain = '{"d":'.repeat(depth - 1) + '"leaf"' + '}'.repeat(depth - 1);
  return { text: `{"type":"login","time":"2024-01-01T00:00:00Z","id":"${id}","actor":"deep","d":${chain}}`, chain };
}

test('records nested deeper than server.limits.maxDepth are rejected by index, their siblings kept; no depth is a 500', async (t) => {
  const dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir });
  const ok = deepEvent('deep-64', 64);
  const array = `[{"type":"login","time":"2024-01-01T00:00:00Z","id":"sibling-0"},${deepEvent('deep-65', 65).text},${ok.text},${deepEvent('deep-5000', 5000).text}]`;
  const res = await postEvents(server.url, array, { 'content-type': 'application/json' });
  assert.equal(res.status, 202, JSON.stringify(res.body).slice(0, 500));
  assert.deepEqual(res.body.ids, ['sibling-0', 'deep-64']);
  assert.deepEqual(res.body.rejected, [
    { index: 1, error: 'nested 65 levels deep, over server.limits.maxDepth (64)' },
    { index: 3, error: 'nested 5000 levels deep, over server.limits.maxDepth (64)' },
  ]);

  const ndjson = await postEvents(server.url, `${deepEvent('nd-65', 65).text}\n${deepEvent('nd-64', 64).text}\n`);
  assert.equal(ndjson.status, 202);
  assert.deepEqual(ndjson.body.ids, ['nd-64']);
  assert.deepEqual(ndjson.body.rejected, [{ index: 0, error: 'nested 65 levels deep, over server.limits.maxDepth (64)' }]);

  // A whole body too deep: the request's own fault, a 400 naming the limit, never a 500.
  const single = await postEvents(server.url, deepEvent('deep-single', 5000).text, { 'content-type': 'application/json' });
  assert.equal(single.status, 400);
  assert.equal(single.body.code, 'NO_VALID_EVENTS');
  assert.deepEqual(single.body.rejected, [{ index: 0, error: 'nested 5000 levels deep, over server.limits.maxDepth (64)' }]);
  for (const body of ['['.repeat(1_000_000) + ']'.repeat(1_000_000), '{"a":'.repeat(500_000) + '1' + '}'.repeat(500_000), '['.repeat(100_000)]) {
    const r = await postEvents(server.url, body, { 'content-type': 'application/json' });
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
  }

  const stored = await waitFor(async () => {
    const r = await fetch(`${server.url}/v1/events/deep-64`);
    return r.status === 200 ? ((await r.json()) as { details: { d: unknown } }) : null;
  }, 'the 64-deep event in the audit store');
  assert.equal(JSON.stringify(stored.details.d), ok.chain);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

for (const backend of ['sqlite', 'postgres'] as const) {
  test(`${backend}: an event as deep as the highest maxDepth allowed is acknowledged, stored and searchable, not dead-lettered`, async (t) => {
    const dataDir = await tempDir(t);
    const store: Record<string, unknown> = { type: 'audit-store' };
    if (backend === 'postgres') store.url = (await createPgDatabase(t)).url;
    const server = await startServer(t, { dataDir, config: { server: { limits: { maxDepth: 1000 } }, audit: { emitters: [{ type: 'log' }, store] } } });
    const deep = deepEvent('deep-1000', 1000);
    const res = await postEvents(server.url, `${deep.text}\n${deepEvent('deep-1001', 1001).text}\n`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.ids, ['deep-1000']);
    assert.match(res.body.rejected[0].error, /nested 1001 levels deep, over server\.limits\.maxDepth \(1000\)/);
    const found = await waitFor(async () => {
      const page = (await (await fetch(`${server.url}/v1/events?actor=deep`)).json()) as { events: { id: string; details: { d: unknown } }[] };
      return page.events[0];
    }, 'the deep event in search');
    assert.equal(found.id, 'deep-1000');
    // JSON.stringify recurses: a 999-deep value is within its reach here, as in every emitter.
    assert.equal(JSON.stringify(found.details.d), deep.chain);
    const emitters = (await (await fetch(`${server.url}/v1/emitters`)).json()) as { emitters: { name: string; deadLettered: number }[] };
    assert.deepEqual(emitters.emitters.map((e) => [e.name, e.deadLettered]), [['log', 0], ['audit-store', 0]]);
  });
}

test('GET /v1/events pages stay within server.limits.maxResponseBytes and page on through every event', async (t) => {
  const dataDir = await tempDir(t);
  const maxResponseBytes = 200_000;
  const server = await startServer(t, { dataDir, config: { server: { limits: { maxResponseBytes } } } });
  const events = Array.from({ length: 12 }, (_, i) => ({ type: 'login', time: `2024-01-01T00:00:${String(i).padStart(2, '0')}Z`, id: `big-${i}`, pad: 'p'.repeat(50_000) }));
  assert.equal((await postEvents(server.url, events)).status, 202);
  await waitFor(async () => (await fetch(`${server.url}/v1/events/big-0`)).status === 200, 'the events in the audit store');
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const res = await fetch(`${server.url}/v1/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(Buffer.byteLength(text) <= maxResponseBytes, `a page of ${Buffer.byteLength(text)} bytes`);
    const page = JSON.parse(text) as { events: { id: string }[]; nextCursor?: string };
    seen.push(...page.events.map((e) => e.id));
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor);
  assert.ok(pages >= 4, `${pages} pages`);
  assert.deepEqual(seen, events.map((e) => e.id).reverse());
});
