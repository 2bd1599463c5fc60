/**
 * tenants: N tenants (default 1 000) × 2 http destinations created through
 * the API on one server, next to a server with 1 tenant × 2 destinations
 * measured in the same run. Every destination posts to one loopback receiver
 * process (a path per destination), so each is a real running emitter.
 *
 * Per server: tenants/s and destinations/s created (the first destinations
 * with Test & Add, the rest with ?skipTest=true), RSS before and after, idle
 * CPU with every destination created and nothing sent, and ingest — admin
 * key, 500-event NDJSON batches, each event naming its tenant — until the
 * receiver holds both copies of every acknowledged event: spread over all N
 * tenants, and all for one tenant (after 4 warm-up requests, so that neither
 * server is measured cold). Server CPU from /proc covers the load and
 * the delivery that followed.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CHANGE_EVENT_TYPES } from '../dist/tenants/change-event.js';
import { runLoad } from './lib/http-load.mjs';
import { cpuSecondsOf, memoryOf, sleep, startAuditstream, stop, waitUntil } from './lib/processes.mjs';
import { startReceiver } from './lib/receiver.mjs';
import { fmt, fmtRatio, perSecond, ratio, table } from './lib/stats.mjs';

export const description = '1 000 tenants × 2 http destinations created through the API: creation rate, RSS, idle CPU, ingest spread over every tenant vs one tenant';

const ADMIN = 'bench-tenants-admin-key-0123456789abcdef';
const PER_TENANT = 2;
/** API calls in flight while creating: a provisioning script with a few workers. */
const CREATE_CONCURRENCY = 4;

export async function run({ smoke, tmp, log, tenants }) {
  const count = tenants ?? (smoke ? 5 : 1_000);
  // Test & Add for the first 100 destinations (50 tenants); the rest skip the test, as a bulk import would.
  const testedTenants = Math.min(count, smoke ? 2 : 50);
  const settleMs = smoke ? 500 : 3_000;
  const idleMs = smoke ? 2_000 : 20_000;
  const load = smoke
    ? { concurrency: 2, batchSize: 500, durationMs: 2_000, warmupMs: 0, maxRequests: 4 }
    : // The cap bounds the drain: spread over 2 000 destinations each delivery request carries few events.
      { concurrency: 4, batchSize: 500, durationMs: 15_000, warmupMs: 0, maxRequests: 240 };
  const receiver = await startReceiver();
  const servers = [];
  try {
    for (const n of [1, count]) {
      log(`tenants: a server with ${n} tenant(s) × ${PER_TENANT} destinations`);
      servers.push(await serverRun(n, Math.min(n, testedTenants), { settleMs, idleMs, load, smoke }, receiver, tmp, log));
    }
  } finally {
    await stop(receiver.child);
  }
  const [single, many] = servers;
  return {
    setup: { tenants: count, destinationsPerTenant: PER_TENANT, testedTenants, createConcurrency: CREATE_CONCURRENCY, settleMs, idleMs, load, destination: 'http (json-array, the defaults) to one loopback receiver, a path each; exclude auditstream.*', globalEmitter: 'log, include auditstream.* (the change events only)', ack: 'buffered' },
    single,
    many,
    ratios: {
      spreadEventsPerSec: ratio(many.ingest.spread.eventsPerSec, single.ingest.oneTenant.eventsPerSec),
      spreadDeliveredPerSec: ratio(many.ingest.spread.deliveredPerSec, single.ingest.oneTenant.deliveredPerSec),
      spreadCpu: ratio(many.ingest.spread.cpuMsPer1kEvents, single.ingest.oneTenant.cpuMsPer1kEvents),
      oneTenantCpu: ratio(many.ingest.oneTenant.cpuMsPer1kEvents, single.ingest.oneTenant.cpuMsPer1kEvents),
      rss: ratio(many.rss.afterDestinationsMiB, single.rss.afterDestinationsMiB),
    },
  };
}

async function serverRun(count, tested, { settleMs, idleMs, load, smoke }, receiver, tmp, log) {
  const dataDir = await mkdtemp(join(tmp, `tenants-${count}-`));
  const config = {
    server: { apiKeys: [ADMIN] },
    // The change events are not in the built-in catalog, so a global emitter names them through eventTypes.
    audit: { eventTypes: CHANGE_EVENT_TYPES, emitters: [{ type: 'log', name: 'changes', file: 'logs/changes.log', include: ['auditstream.*'] }] },
    tenants: {
      // Quotas out of the way: the benchmark measures the server, not the token buckets.
      defaultQuotas: { ingestEventsPerSec: 1e9, ingestBurst: 1_000_000 },
      // The same for the admin key's calls creating every tenant and destination.
      manageRateLimit: { perSecond: 1e9, burst: 1_000_000 },
      destinationPolicy: { allowNetworks: ['127.0.0.1/32'] },
    },
  };
  const server = await startAuditstream(dataDir, config, { timeoutMs: 120_000 });
  const api = apiOf(server.url);
  try {
    await sleep(settleMs);
    const rssStart = memoryOf(server.pid).rssMiB;
    const ids = Array.from({ length: count }, (_, i) => `t${i}`);

    const tenantsTimed = await timed(server.pid, ids, (id) => api('POST', '/v1/tenants', { id, name: `Tenant ${id}` }, 201));
    const rssTenants = memoryOf(server.pid).rssMiB;
    log(`tenants: ${count} tenants created at ${fmt(tenantsTimed.perSec)}/s; destinations (${tested * PER_TENANT} with Test & Add)`);
    const destinationsOf = (list, query) => list.flatMap((id) => Array.from({ length: PER_TENANT }, (_, d) => () => api('POST', `/v1/tenants/${id}/destinations${query}`, { name: `d${d}`, type: 'http', url: `${receiver.url}/${id}/d${d}`, exclude: ['auditstream.*'] }, 201)));
    const testAndAdd = await timed(server.pid, destinationsOf(ids.slice(0, tested), ''), (call) => call());
    const skipTest = count > tested ? await timed(server.pid, destinationsOf(ids.slice(tested), '?skipTest=true'), (call) => call()) : undefined;
    await sleep(settleMs);
    const afterCreation = memoryOf(server.pid);
    // A few requests first, so both servers are measured with their code warmed up (the 1-tenant one has had no other traffic).
    await ingestRun(server, receiver, { ...load, durationMs: 2_000, maxRequests: 4, tenants: 1 }, smoke);
    await sleep(settleMs);

    const cpuBefore = cpuSecondsOf(server.pid);
    const idleStarted = Date.now();
    await sleep(idleMs);
    const idleCpuSec = cpuSecondsOf(server.pid) - cpuBefore;
    const idleWallSec = (Date.now() - idleStarted) / 1000;
    const openFds = (await readdir(`/proc/${server.pid}/fd`)).length;

    const ingest = {};
    if (count > 1) {
      log(`tenants: ingest spread over ${count} tenants`);
      ingest.spread = await ingestRun(server, receiver, { ...load, tenants: count }, smoke);
    }
    log(`tenants: ingest for one tenant of ${count}`);
    ingest.oneTenant = await ingestRun(server, receiver, { ...load, tenants: 1 }, smoke);
    return {
      tenants: count,
      destinations: count * PER_TENANT,
      create: {
        tenants: tenantsTimed,
        testAndAdd: { ...testAndAdd, destinations: tested * PER_TENANT },
        skipTest: skipTest && { ...skipTest, destinations: (count - tested) * PER_TENANT },
      },
      rss: { startMiB: rssStart, afterTenantsMiB: rssTenants, afterDestinationsMiB: afterCreation.rssMiB, peakAfterCreationMiB: afterCreation.peakRssMiB, afterIngestMiB: memoryOf(server.pid).rssMiB, peakMiB: memoryOf(server.pid).peakRssMiB },
      idle: { cpuSec: idleCpuSec, wallSec: idleWallSec, cpuPercent: (idleCpuSec / idleWallSec) * 100, openFds },
      ingest,
    };
  } finally {
    await stop(server.child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A JSON call with the admin key that must answer `status`. */
function apiOf(url) {
  return async (method, path, body, status) => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== status) throw new Error(`${method} ${path} answered ${res.status}, expected ${status}: ${text}`);
  };
}

/** Runs `fn` over `items`, CREATE_CONCURRENCY at a time: wall time, rate and the server's CPU per call. */
async function timed(pid, items, fn) {
  const cpuBefore = cpuSecondsOf(pid);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
  const ms = Date.now() - t0;
  return { count: items.length, ms, perSec: perSecond(items.length, ms), serverCpuMsPerCall: ((cpuSecondsOf(pid) - cpuBefore) * 1000) / items.length };
}

/** The load, then waits until the receiver holds a copy of every acknowledged event for each of its tenant's destinations. */
async function ingestRun(server, receiver, load, smoke) {
  const before = await receiver.count();
  const cpuBefore = cpuSecondsOf(server.pid);
  const t0 = Date.now();
  const result = await runLoad({ ...load, url: server.url, apiKey: ADMIN, prefix: `ten${load.tenants}-${Date.now()}` });
  const acked = Object.entries(result.statuses).reduce((n, [status, c]) => n + (status.startsWith('2') ? c : 0), 0) * load.batchSize;
  const loadCpuSec = cpuSecondsOf(server.pid) - cpuBefore;
  const after = await waitUntil(
    async () => {
      const c = await receiver.count();
      return c.events - before.events >= acked * PER_TENANT ? c : undefined;
    },
    `the receiver to hold ${acked * PER_TENANT} deliveries`,
    smoke ? 60_000 : 600_000,
    100,
  );
  const ms = Date.now() - t0;
  const cpuSec = cpuSecondsOf(server.pid) - cpuBefore;
  return {
    eventsAcked: acked,
    statuses: result.statuses,
    eventsPerSec: result.eventsPerSec,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    deliveredMs: ms,
    // Acknowledged events whose every copy reached the receiver, per second from the load's start.
    deliveredPerSec: perSecond(acked, ms),
    // What the receiver got, not what the wait asked for: each acknowledged event once per destination of its tenant.
    deliveredEvents: after.events - before.events,
    deliveryRequests: after.requests - before.requests,
    eventsPerDeliveryRequest: (after.events - before.events) / (after.requests - before.requests),
    cpuMsPer1kEvents: acked > 0 ? (cpuSec * 1e6) / acked : Number.NaN,
    cpuMsPer1kEventsDuringLoad: acked > 0 ? (loadCpuSec * 1e6) / acked : Number.NaN,
  };
}

export function summarize(r) {
  const rows = [];
  for (const s of [r.single, r.many]) {
    const c = s.create;
    const per = (x) => (x ? `${fmt(x.perSec)} (${fmt(x.serverCpuMsPerCall)})` : '–');
    rows.push([`${fmt(s.tenants)} × ${r.setup.destinationsPerTenant}`, per(c.tenants), per(c.testAndAdd), per(c.skipTest), `${fmt(s.rss.startMiB)} → ${fmt(s.rss.afterDestinationsMiB)}`, fmt(s.rss.peakMiB), `${fmt(s.idle.cpuSec)} (${fmt(s.idle.cpuPercent)} %)`, fmt(s.idle.openFds)]);
  }
  const ingestRows = [];
  const line = (label, x, base) => [
    label,
    `${fmt(x.eventsPerSec)}${base ? ` (${fmtRatio(ratio(x.eventsPerSec, base.eventsPerSec))})` : ''}`,
    `${fmt(x.deliveredPerSec)}${base ? ` (${fmtRatio(ratio(x.deliveredPerSec, base.deliveredPerSec))})` : ''}`,
    `${fmt(x.cpuMsPer1kEvents)}${base ? ` (${fmtRatio(ratio(x.cpuMsPer1kEvents, base.cpuMsPer1kEvents))})` : ''}`,
    fmt(x.eventsPerDeliveryRequest),
    `${fmt(x.p50Ms)} / ${fmt(x.p99Ms)}`,
    Object.entries(x.statuses).map(([k, v]) => `${k}×${v}`).join(' '),
  ];
  const base = r.single.ingest.oneTenant;
  ingestRows.push(line(`1 tenant of 1 (baseline)`, base));
  ingestRows.push(line(`1 tenant of ${fmt(r.many.tenants)}`, r.many.ingest.oneTenant, base));
  if (r.many.ingest.spread) ingestRows.push(line(`spread over ${fmt(r.many.tenants)}`, r.many.ingest.spread, base));
  return (
    table(['tenants × destinations', 'tenants/s (CPU ms each)', 'Test & Add dest/s (CPU ms)', 'skipTest dest/s (CPU ms)', 'RSS MiB start → created', 'peak RSS MiB', `idle CPU s over ${r.setup.idleMs / 1000} s`, 'open fds'], rows) +
    `\n(created through the API with an admin key, ${r.setup.createConcurrency} calls in flight; Test & Add for the first ${fmt(r.setup.testedTenants * r.setup.destinationsPerTenant)} destinations, ?skipTest=true for the rest)\n\n` +
    table(['ingest', 'ev/s (÷ baseline)', 'delivered ev/s', 'CPU ms/1k ev', 'ev per delivery request', 'p50/p99 ms', 'statuses'], ingestRows) +
    `\n(admin key, each event names its tenant; ${r.setup.load.concurrency} connections × ${r.setup.load.batchSize}-event batches for ${r.setup.load.durationMs / 1000} s or ${fmt(r.setup.load.maxRequests)} requests; delivered: until the receiver held both copies of every acknowledged event; CPU over the load and that delivery)`
  );
}
