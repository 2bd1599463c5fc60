import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startServer } from '../support/server-process.js';
import { join } from 'node:path';
import { tempDir, waitFor } from '../support/temp.js';

/**
 * Bounded fuzzing of a real server on loopback: hostile bodies, headers, paths
 * and query strings, generated from a seeded PRNG (set AUDITSTREAM_FUZZ_SEED to
 * replay a failing run). What a user relies on, whatever a client sends:
 * never a 5xx, never a hang, every error in the `{error, code}` shape, never a
 * 2xx without the key, the event loop never stalled, memory bounded, and every
 * event the server acknowledged is searchable afterwards.
 */

const REQUESTS = Number(process.env.AUDITSTREAM_FUZZ_REQUESTS ?? 20_000);
const SEED = Number(process.env.AUDITSTREAM_FUZZ_SEED ?? Date.now() % 2 ** 31);
const KEY = 'fuzz-key-0123456789abcdef';
const CONCURRENCY = 16;
const REQUEST_TIMEOUT_MS = 15_000;
/**
 * The stall and memory bounds docs/security.md states. Event-loop delay is
 * wall-clock time: on a 2-core machine it also counts the moments the OS gives
 * the server's core to the test files running beside it (measured: p99 110 ms
 * with the machine's load average at 7; 355–671 ms at 18–31, before and after
 * an unrelated change), so the bounds leave room for that while still catching
 * the defect class (a body that held the loop for 23 s).
 */
const MAX_EVENT_LOOP_P99_SEC = 1;
const MAX_EVENT_LOOP_STALL_SEC = 3;
/**
 * RSS is the heap's high-water mark plus what the allocator keeps, not live
 * memory: with the journal, growth over a run was 126 MiB on Node 20 and
 * 177 MiB on Node 22 (its GC sizes the young generation differently), while
 * test/durability/memory.test.ts shows the live heap flat under a backlog.
 * The bound catches growth without limit (a leak per request), not a figure.
 */
const MAX_RSS_GROWTH_BYTES = 256 * 1024 * 1024;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const chance = (p: number) => rand() < p;

const NASTY_STRINGS = [
  '', ' ', '\u0000', '\u202e', '\ud800', '💥', '%', '%00', '%2e%2e%2f', '../../etc/passwd', '${HOME}', "' OR 1=1 --", '"', '\\', '\n',
  '<script>', 'x'.repeat(300), 'é'.repeat(200), '__proto__', 'constructor', 'NaN', '-1', '1e309', '7', 'March 5', '2024-02-30',
  '+275760-09-13T00:00:00Z', '2024-05-01T10:00:00', '1970-01-01T00:00:00Z', '9999999999999999999999',
];
const TYPES = ['login', 'login_failed', 'logout', 'admin_added', 'config_changed', 'ldap.bind', 'radius.authorize', 'temporal.DeleteUser', 'nonsense', ''];

function nastyValue(depth: number): unknown {
  switch (int(depth > 6 ? 4 : 8)) {
    case 0:
      return pick(NASTY_STRINGS);
    case 1:
      return pick([0, -1, 1e308, -0, 2 ** 53 + 1, 1.5, 1e-320]);
    case 2:
      return pick([null, true, false]);
    case 3:
      return Math.random().toString(36);
    case 4:
    case 5:
      return Array.from({ length: int(4) }, () => nastyValue(depth + 1));
    default:
      return nastyObject(depth + 1);
  }
}

function nastyObject(depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = int(5); i > 0; i--) {
    const key = chance(0.2) ? pick(['__proto__', 'constructor', 'prototype', 'toString', 'time', 'id', 'type', 'tenant', 'Records']) : pick(NASTY_STRINGS) || 'k';
    // JSON.parse makes `__proto__` an own key; so must the generator, or it sets the prototype instead.
    Object.defineProperty(o, key, { value: nastyValue(depth), enumerable: true, writable: true, configurable: true });
  }
  return o;
}

function scalarText(): string {
  const v = nastyValue(7);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Percent-encodes like a browser; a lone surrogate becomes the invalid UTF-8 bytes a hostile client would send. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function validEvent(): Record<string, unknown> {
  const e: Record<string, unknown> = {
    type: pick(TYPES.slice(0, 7)),
    actor: `user${int(1000)}@example.com`,
    time: new Date(Date.now() - int(86_400_000)).toISOString(),
    outcome: pick(['success', 'failure']),
  };
  if (chance(0.5)) e.id = `fuzz-${SEED}-${int(1e12)}`;
  if (chance(0.3)) e.details = nastyObject(1);
  return e;
}

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  raw?: string;
}

function bodyRequest(body: string | Buffer, contentType = 'application/json', extra: Record<string, string> = {}): Req {
  let buf = typeof body === 'string' ? Buffer.from(body) : body;
  const headers: Record<string, string> = { 'content-type': contentType, ...extra };
  if (chance(0.15)) {
    buf = gzipSync(buf);
    headers['content-encoding'] = 'gzip';
  }
  return { method: 'POST', path: '/v1/events', headers, body: buf };
}

function generate(): Req {
  const r = int(100);
  if (r < 30) {
    // Acceptable events, alone, in arrays, in NDJSON, sometimes with hostile siblings.
    const events = Array.from({ length: 1 + int(20) }, () => (chance(0.85) ? validEvent() : nastyValue(0)));
    if (chance(0.4)) return bodyRequest(events.map((e) => JSON.stringify(e)).join('\n'), 'application/x-ndjson');
    return bodyRequest(JSON.stringify(events.length === 1 ? events[0] : events));
  }
  if (r < 45) return bodyRequest(JSON.stringify(chance(0.5) ? nastyObject(0) : Array.from({ length: int(30) }, () => nastyValue(0))));
  if (r < 52) {
    // Malformed and adversarial bytes.
    const choices = [
      () => Buffer.from(JSON.stringify(validEvent()).slice(0, int(40))),
      () => Buffer.from(Array.from({ length: int(200) }, () => int(256))),
      () => Buffer.from(nested(1 + int(6000))),
      () => Buffer.from(`[${'{},'.repeat(20_000)}{}]`),
      () => Buffer.from(`{"a":${nested(100)}}`),
      () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(validEvent()))]),
      () => Buffer.from(Array.from({ length: 50 }, () => (chance(0.5) ? JSON.stringify(validEvent()) : '{"type":')).join('\n')),
    ];
    return bodyRequest(pick(choices)(), chance(0.5) ? 'application/json' : 'application/x-ndjson');
  }
  if (r < 58) {
    // Headers that lie or that the server must refuse.
    const body = JSON.stringify(validEvent());
    const variants: Record<string, string>[] = [
      { 'content-type': pick(['text/plain', 'application/xml', '', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x']) },
      { 'content-type': 'application/json', 'content-encoding': pick(['br', 'deflate', 'gzip', 'identity, gzip', 'x']) },
      { 'content-type': 'application/json', authorization: pick(['Bearer', 'Bearer ', `Bearer ${KEY}x`, `Basic ${KEY}`, 'Bearer \u00ff', `bearer  ${KEY.slice(1)}`]) },
    ];
    const v = pick(variants);
    return { method: 'POST', path: '/v1/events', headers: { authorization: `Bearer ${KEY}`, ...v }, body: Buffer.from(body) };
  }
  if (r < 85) {
    // Search with hostile query strings, fetch by hostile ids.
    const params = ['type', 'actor', 'outcome', 'source', 'sessionId', 'clientIp', 'from', 'to', 'q', 'limit', 'cursor', 'tenant', 'x'];
    const qs = Array.from({ length: int(5) }, () => `${pick(params)}=${chance(0.05) ? '%zz' : enc(scalarText())}`);
    if (chance(0.1)) qs.push(`limit=${pick(['0', '-5', '1000000', 'abc', '1.5', '1000'])}`);
    if (chance(0.5)) return { method: 'GET', path: `/v1/events?${qs.join('&')}`, headers: {} };
    return { method: 'GET', path: `/v1/events/${enc(String(pick(NASTY_STRINGS)) || 'x')}`, headers: {} };
  }
  if (r < 93) {
    const paths = ['/v1/emitters', '/v1/sources', '/healthz', '/metrics', '/v1/emitters/log/test', '/v1/nope', '/v1/events/../emitters', '/V1/EVENTS', '//v1/events', `/${'a'.repeat(5000)}`, '/v1/events?limit=1&limit=2'];
    return { method: pick(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD']), path: pick(paths), headers: {} };
  }
  // Raw request lines no well-behaved client sends: no key may get a 2xx this way.
  const target = pick(['/%761/events', '/v%31/emitters', 'http://x/v1/events', '/v1/./events', '/v1//events', '/v1/events/', '/x/../v1/events', '/v1;a=b/events', '*']);
  const lines = [`${pick(['GET', 'POST'])} ${target} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (chance(0.3)) lines.push(`X-Big: ${'b'.repeat(int(40_000))}`);
  if (chance(0.2)) for (let i = 0; i < 150; i++) lines.push(`X-H${i}: v`);
  lines.push('Connection: close');
  return { method: 'RAW', path: target, headers: {}, raw: `${lines.join('\r\n')}\r\n\r\n` };
}

interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

function send(base: URL, agent: Agent, req: Req, withKey: boolean): Promise<Answer> {
  if (req.raw !== undefined) return sendRaw(base, req.raw);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (withKey && !('authorization' in headers)) headers.authorization = `Bearer ${KEY}`;
    const r = request(
      { host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

function sendRaw(base: URL, raw: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? socket.end() : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const bodyStart = text.indexOf('\r\n\r\n');
      resolve({ status, text: bodyStart >= 0 ? text.slice(bodyStart + 4) : '', headers: {} });
    });
    socket.write(raw);
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  assert.ok(m, `metric ${name} in /metrics`);
  return Number(m[1]);
}

test(`fuzz: ${REQUESTS} hostile requests through a real server: no 5xx, no hang, no stall, bounded memory, every 2xx event searchable (seed ${SEED})`, async (t) => {
  // This test is about input handling, not durability: on tmpfs, fsync costs nothing and 20,000 requests fit in a minute.
  let dataDir: string;
  if (existsSync('/dev/shm')) {
    dataDir = mkdtempSync(join('/dev/shm', 'auditstream-fuzz-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  } else dataDir = await tempDir(t);
  const server = await startServer(t, { dataDir, config: { server: { apiKeys: [KEY] } } });
  const base = new URL(server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.after(() => agent.destroy());
  const authed = { authorization: `Bearer ${KEY}` };

  // Warm up (JIT, SQLite pages) so the RSS baseline is the server at work, not at rest.
  for (let i = 0; i < 200; i++) await send(base, agent, bodyRequest(JSON.stringify(validEvent())), true);
  const rssBefore = await metric(server.url, 'process_resident_memory_bytes');
  await metric(server.url, 'nodejs_eventloop_lag_max_seconds'); // reading resets the window (p99 and max)
  const cpuBefore = await metric(server.url, 'process_cpu_seconds_total');

  const acknowledged = new Set<string>();
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const slowest: { ms: number; what: string }[] = [];
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < REQUESTS && failures.length < 20) {
      const n = next++;
      const req = generate();
      const withKey = req.raw === undefined && !chance(0.05);
      // Some generated requests carry their own Authorization header, right or wrong.
      const sentKey = req.headers.authorization === `Bearer ${KEY}` || (withKey && !('authorization' in req.headers));
      const what = `#${n} ${req.method} ${req.path.slice(0, 120)} ${JSON.stringify(req.headers).slice(0, 200)}${sentKey ? '' : ' (no key)'}`;
      let answer: Answer;
      const sentAt = Date.now();
      try {
        answer = await send(base, agent, req, withKey);
        slowest.push({ ms: Date.now() - sentAt, what: `${what} → ${answer.status}` });
        slowest.sort((a, b) => b.ms - a.ms).splice(5);
      } catch (err) {
        failures.push(`${what}: ${String(err)}`);
        continue;
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status >= 500 || answer.status === 0) failures.push(`${what}: answered ${answer.status} ${answer.text.slice(0, 300)}`);
      const isV1 = req.raw !== undefined ? !req.path.startsWith('/healthz') : req.path.toLowerCase().includes('v1');
      if (!sentKey && isV1 && answer.status >= 200 && answer.status < 300) failures.push(`${what}: a 2xx without the API key`);
      if (req.raw === undefined && req.method !== 'HEAD' && answer.status >= 400) {
        let body: { error?: unknown; code?: unknown } | undefined;
        try {
          body = JSON.parse(answer.text);
        } catch {
          /* reported below */
        }
        if (typeof body?.error !== 'string' || typeof body?.code !== 'string') failures.push(`${what}: ${answer.status} without {error, code}: ${answer.text.slice(0, 200)}`);
      }
      if (answer.status === 202 && req.path === '/v1/events') for (const id of (JSON.parse(answer.text) as { ids: string[] }).ids) acknowledged.add(id);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsedSec = (Date.now() - started) / 1000;
  t.diagnostic(`seed ${SEED}: ${next} requests in ${elapsedSec.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ${acknowledged.size} events acknowledged`);
  t.diagnostic(`slowest: ${slowest.map((s) => `${s.ms} ms ${s.what.slice(0, 160)}`).join(' | ')}`);
  assert.deepEqual(failures, [], `replay with AUDITSTREAM_FUZZ_SEED=${SEED}`);

  const text = await (await fetch(`${server.url}/metrics`)).text();
  const lag = (name: string) => Number(new RegExp(`^nodejs_eventloop_lag_${name}_seconds ([0-9.e+-]+)$`, 'm').exec(text)?.[1]);
  const stall = lag('max');
  const p99 = lag('p99');
  const cpu = (await metric(server.url, 'process_cpu_seconds_total')) - cpuBefore;
  t.diagnostic(`server CPU ${cpu.toFixed(1)} s, ${((cpu * 1000) / next).toFixed(2)} ms per request`);
  const rssAfter = await metric(server.url, 'process_resident_memory_bytes');
  t.diagnostic(`event-loop delay p99 ${(p99 * 1000).toFixed(0)} ms, max ${(stall * 1000).toFixed(0)} ms; RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(p99 <= MAX_EVENT_LOOP_P99_SEC, `the event loop's p99 delay was ${(p99 * 1000).toFixed(0)} ms (bound ${MAX_EVENT_LOOP_P99_SEC * 1000} ms)`);
  assert.ok(stall <= MAX_EVENT_LOOP_STALL_SEC, `the event loop stalled ${(stall * 1000).toFixed(0)} ms (bound ${MAX_EVENT_LOOP_STALL_SEC * 1000} ms)`);
  assert.ok(rssAfter - rssBefore <= MAX_RSS_GROWTH_BYTES, `RSS grew ${((rssAfter - rssBefore) / 2 ** 20).toFixed(0)} MiB (bound ${MAX_RSS_GROWTH_BYTES / 2 ** 20} MiB)`);
  assert.ok(acknowledged.size > REQUESTS / 10, `enough events were acknowledged to mean something (${acknowledged.size})`);

  // Every acknowledged event reaches the audit store and can be fetched by its id.
  const missing = new Set(acknowledged);
  await waitFor(async () => {
    let cursor: string | undefined;
    do {
      const res = await fetch(`${server.url}/v1/events?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: authed });
      const page = (await res.json()) as { events: { id: string }[]; nextCursor?: string };
      for (const e of page.events) missing.delete(e.id);
      cursor = page.nextCursor;
    } while (cursor);
    return missing.size === 0;
  }, `all ${acknowledged.size} acknowledged events in the audit store (${missing.size} missing, e.g. ${[...missing].slice(0, 3).join(', ')})`, 120_000, 500);
  for (const id of [...acknowledged].filter((_, i) => i % 50 === 0)) {
    const res = await fetch(`${server.url}/v1/events/${encodeURIComponent(id)}`, { headers: authed });
    assert.equal(res.status, 200, `GET /v1/events/{id} for ${JSON.stringify(id)}`);
  }
});
