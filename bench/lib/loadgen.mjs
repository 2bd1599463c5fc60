/**
 * The HTTP load generator, run as its own process so it never shares an
 * event loop with the server it measures:
 *
 *   node loadgen.mjs '{"url":"http://127.0.0.1:PORT","concurrency":4,"batchSize":500,
 *                      "durationMs":10000,"warmupMs":1000,"maxRequests":100000,"prefix":"r1",
 *                      "apiKey":"…","tenants":1000}'
 *
 * `concurrency` workers POST NDJSON batches over keep-alive connections until
 * the duration or the request cap is reached, whichever comes first, then it
 * prints one JSON line of results and exits. Requests finishing during the
 * warm-up are not counted. Only loopback URLs are accepted. With `tenants`,
 * event n names tenant `t${n % tenants}` (else every event names `acme`);
 * `apiKey` is sent as a bearer token.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { eventLine } from './events.mjs';
import { percentile } from './stats.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
const url = new URL(`${opts.url}/v1/events`);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`refusing to load ${url.hostname}: loopback only`);
const concurrency = opts.concurrency ?? 1;
const batchSize = opts.batchSize ?? 500;
const durationMs = opts.durationMs ?? 10_000;
const warmupMs = opts.warmupMs ?? 0;
const maxRequests = opts.maxRequests ?? 1_000_000;
const prefix = opts.prefix ?? `lg${process.pid}`;
const tenantOf = opts.tenants ? (n) => `t${n % opts.tenants}` : () => undefined;
const auth = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const start = performance.now();
const measureFrom = start + warmupMs;
const deadline = measureFrom + durationMs;

let issued = 0;
let events = 0;
let bytes = 0;
const latencies = [];
const statuses = {};
let errors = 0;
let lastError;

function post(body) {
  return new Promise((resolvePost, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...auth, 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolvePost(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function worker(w) {
  while (performance.now() < deadline && issued < maxRequests) {
    const r = issued++;
    const lines = new Array(batchSize);
    for (let i = 0; i < batchSize; i++) lines[i] = eventLine(`${prefix}-${w}-${r}-${i}`, r * batchSize + i, tenantOf(r * batchSize + i));
    const body = lines.join('\n');
    const t0 = performance.now();
    let status = 0;
    try {
      status = await post(body);
    } catch (err) {
      errors++;
      lastError = String(err);
      await new Promise((res) => setTimeout(res, 20));
      continue;
    }
    const t1 = performance.now();
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === 429) await new Promise((res) => setTimeout(res, 50));
    if (t0 < measureFrom || t1 > deadline) continue;
    latencies.push(t1 - t0);
    if (status >= 200 && status < 300) {
      events += batchSize;
      bytes += body.length;
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
const end = Math.min(performance.now(), deadline);
agent.destroy();
const measuredMs = end - measureFrom;
process.stdout.write(
  `${JSON.stringify({
    concurrency,
    batchSize,
    requests: latencies.length,
    requestsIssued: issued,
    events,
    measuredMs,
    eventsPerSec: (events * 1000) / measuredMs,
    mibPerSec: bytes / 1048576 / (measuredMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    statuses,
    errors,
    ...(lastError ? { lastError } : {}),
  })}\n`,
);
