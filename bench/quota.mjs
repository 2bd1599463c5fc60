/**
 * quota: the server CPU a tenant over its ingest quota costs, per refused
 * 150 KB request (465 events, NDJSON). Two tenants on one server, measured
 * in alternating rounds of the same run:
 *
 * - baseline, "refused after parsing": the tenant's bucket holds 400 tokens,
 *   fewer than the 465 events, so each request is read, parsed and then
 *   refused — what every request over the quota cost before the early check;
 * - "bucket empty": the bucket cannot take one event, so each request is
 *   refused in onRequest, before its body is read (it is discarded as it
 *   arrives, on the same keep-alive connection).
 *
 * CPU is the server process's user + system time from /proc, over the rounds.
 */
import { mkdtemp } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { eventLine } from './lib/events.mjs';
import { cpuSecondsOf, startAuditstream, stop } from './lib/processes.mjs';
import { fmt, fmtRatio, percentile, ratio, table } from './lib/stats.mjs';

export const description = 'server CPU per refused 150 KB ingest request: tenant bucket empty (refused before the body is read) vs bucket short of the request (read, parsed, then refused)';

const ADMIN = 'bench-quota-admin-key-0123456789abcdef';
/** About 150 KB of NDJSON. */
const EVENTS_PER_REQUEST = 465;
const CONCURRENCY = 2;

export async function run({ smoke, tmp, log }) {
  const perRound = smoke ? 10 : 500;
  const rounds = smoke ? 1 : 3;
  const dataDir = await mkdtemp(join(tmp, 'quota-'));
  const server = await startAuditstream(dataDir, { server: { apiKeys: [ADMIN] } });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const api = async (method, path, body, key = ADMIN) => {
      const res = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
      const answer = await res.json();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
      return answer;
    };
    const tenant = async (id, ingestBurst, spend) => {
      await api('POST', '/v1/tenants', { id, name: id, quotas: { ingestEventsPerSec: 0.001, ingestBurst } });
      const { key } = await api('POST', `/v1/tenants/${id}/keys`, { name: 'producer', scopes: ['ingest'] });
      const status = await post(server.url, agent, key, body(`${id}-spend`, spend, id));
      if (status !== 202) throw new Error(`spending ${spend} of ${id}'s bucket answered ${status}`);
      return { key, body: body(`${id}-refused`, EVENTS_PER_REQUEST, id) };
    };
    const cases = {
      // 1000 deep, 600 spent: 400 left, too few for the request, enough for one event.
      afterParse: await tenant('short', 1000, 600),
      // 1 deep, 1 spent: empty.
      beforeBody: await tenant('spent', 1, 1),
    };
    const requestBytes = cases.beforeBody.body.length;
    const totals = { afterParse: { cpuSec: 0, requests: 0, latencies: [], statuses: {} }, beforeBody: { cpuSec: 0, requests: 0, latencies: [], statuses: {} } };
    for (let round = 0; round < rounds; round++) {
      for (const name of ['afterParse', 'beforeBody']) {
        log(`quota: round ${round + 1}/${rounds}, ${name}: ${perRound} requests`);
        const cpu0 = cpuSecondsOf(server.pid);
        await load(server.url, agent, cases[name], perRound, totals[name]);
        totals[name].cpuSec += cpuSecondsOf(server.pid) - cpu0;
      }
    }
    const result = (t) => ({
      requests: t.requests,
      statuses: t.statuses,
      cpuSec: t.cpuSec,
      cpuMsPerRequest: (t.cpuSec * 1000) / t.requests,
      cpuMsPer1kRequests: (t.cpuSec * 1e6) / t.requests,
      p50Ms: percentile(t.latencies, 50),
      p99Ms: percentile(t.latencies, 99),
    });
    const afterParse = result(totals.afterParse);
    const beforeBody = result(totals.beforeBody);
    return {
      setup: { requestBytes, eventsPerRequest: EVENTS_PER_REQUEST, rounds, requestsPerRound: perRound, concurrency: CONCURRENCY },
      afterParse,
      beforeBody,
      ratios: { cpu: ratio(beforeBody.cpuMsPerRequest, afterParse.cpuMsPerRequest) },
    };
  } finally {
    agent.destroy();
    await stop(server.child);
  }
}

export function summarize(r) {
  const row = (label, x, base) => [label, fmt(x.requests), `${fmt(x.cpuMsPerRequest)}${base ? ` (${fmtRatio(ratio(x.cpuMsPerRequest, base.cpuMsPerRequest))})` : ''}`, `${fmt(x.p50Ms)} / ${fmt(x.p99Ms)}`, Object.entries(x.statuses).map(([k, v]) => `${k}×${v}`).join(' ')];
  return (
    table(['refused request', 'requests', 'server CPU ms each (÷ baseline)', 'p50/p99 ms', 'statuses'], [row('read, parsed, refused (baseline)', r.afterParse), row('bucket empty: refused before the body', r.beforeBody, r.afterParse)]) +
    `\n(${fmt(r.setup.requestBytes)}-byte NDJSON bodies of ${r.setup.eventsPerRequest} events, tenant keys, ${r.setup.concurrency} keep-alive connections, ${r.setup.rounds} alternating rounds of ${fmt(r.setup.requestsPerRound)})`
  );
}

function body(prefix, count, tenant) {
  return Buffer.from(Array.from({ length: count }, (_, i) => eventLine(`${prefix}-${i}`, i, tenant)).join('\n'));
}

async function load(url, agent, { key, body: payload }, count, into) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const t0 = performance.now();
      const status = await post(url, agent, key, payload);
      into.latencies.push(performance.now() - t0);
      into.statuses[status] = (into.statuses[status] ?? 0) + 1;
      into.requests++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

function post(url, agent, key, payload) {
  return new Promise((resolvePost, reject) => {
    const req = request(
      `${url}/v1/events`,
      { method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson', 'content-length': payload.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolvePost(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
