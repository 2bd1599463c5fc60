/**
 * ingest: HTTP ingest of ~300-byte events in NDJSON batches of 500 into the
 * journal (default config: log + audit-store emitters, ack buffered),
 * beside a bare node:http endpoint that only splits and JSON.parses the same
 * bodies. Server, baseline and load generator are separate processes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bareServer } from './lib/bare.mjs';
import { runLoad } from './lib/http-load.mjs';
import { cpuSecondsOf, mainThreadCpuSecondsOf, metricSum, scrapeMetrics, sleep, startAuditstream, stop, waitUntil } from './lib/processes.mjs';
import { fmt, fmtRatio, perSecond, ratio, table } from './lib/stats.mjs';

export const description = 'HTTP ingest into the journal vs a bare node:http JSON.parse endpoint';

export async function run({ smoke, tmp, log }) {
  const levels = smoke ? [2] : [1, 4, 16];
  const load = smoke
    ? { batchSize: 500, durationMs: 2_000, warmupMs: 0, maxRequests: 4 }
    : { batchSize: 500, durationMs: 10_000, warmupMs: 1_500, maxRequests: 50_000 };
  const dataDir = await mkdtemp(join(tmp, 'ingest-'));
  const bare = await bareServer();
  const server = await startAuditstream(dataDir);
  const rows = [];
  try {
    for (const concurrency of levels) {
      log(`ingest: concurrency ${concurrency}: bare node:http baseline`);
      const bareCpu = cpuSecondsOf(bare.pid);
      const baseline = await runLoad({ ...load, url: bare.url, concurrency, prefix: `bare-c${concurrency}` });
      baseline.cpuMsPer1kEvents = cpuMsPer1k(cpuSecondsOf(bare.pid) - bareCpu, baseline);
      log(`ingest: concurrency ${concurrency}: auditstream`);
      const before = await scrapeMetrics(server.url);
      const serverCpu = cpuSecondsOf(server.pid);
      const loopCpu = mainThreadCpuSecondsOf(server.pid);
      const t0 = Date.now();
      const measured = await runLoad({ ...load, url: server.url, concurrency, prefix: `as-c${concurrency}` });
      const drain = await waitForDrain(server.url, before, t0, smoke ? 60_000 : 180_000);
      // Everything the server did for these events, delivery to the log and the store included.
      measured.cpuMsPer1kEvents = cpuMsPer1k(cpuSecondsOf(server.pid) - serverCpu, measured);
      // Of which the main thread: the event loop, apart from the SQLite writer's worker thread and libuv's pool.
      measured.loopCpuMsPer1kEvents = cpuMsPer1k(mainThreadCpuSecondsOf(server.pid) - loopCpu, measured);
      rows.push({
        concurrency,
        baseline,
        auditstream: measured,
        drain,
        ratio: ratio(measured.eventsPerSec, baseline.eventsPerSec),
        cpuRatio: ratio(measured.cpuMsPer1kEvents, baseline.cpuMsPer1kEvents),
      });
    }
  } finally {
    await stop(server.child);
    await stop(bare.child);
    await rm(dataDir, { recursive: true, force: true });
  }
  return {
    setup: { batchSize: load.batchSize, eventBytes: '≈300', durationMs: load.durationMs, warmupMs: load.warmupMs, emitters: ['log', 'audit-store (SQLite)'], ack: 'buffered' },
    levels: rows,
  };
}

/** Server CPU per 1,000 acknowledged events, over every request the generator made (warm-up included). */
function cpuMsPer1k(cpuSec, load) {
  const acked = Object.entries(load.statuses).reduce((n, [status, count]) => n + (status.startsWith('2') ? count : 0), 0) * load.batchSize;
  return acked > 0 ? (cpuSec * 1e6) / acked : Number.NaN;
}

/**
 * After the load stops the emitters are still draining their queues; waits
 * until every queue is empty and reports how long delivery took in all, so
 * ingest (acknowledged) and delivery (written to the log and the store) rates
 * can be compared.
 */
async function waitForDrain(url, before, t0, timeoutMs) {
  const loadEnded = Date.now();
  let after;
  try {
    after = await waitUntil(
      async () => {
        const m = await scrapeMetrics(url);
        return metricSum(m, 'auditstream_buffer_events') === 0 ? m : undefined;
      },
      'the emitter queues to drain',
      timeoutMs,
      100,
    );
  } catch {
    return { drained: false, drainMs: Date.now() - loadEnded };
  }
  const done = Date.now();
  const sent = (id) => metricSum(after, 'auditstream_component_sent_events_total', { component_id: id }) - metricSum(before, 'auditstream_component_sent_events_total', { component_id: id });
  const delivered = Math.min(sent('log'), sent('audit-store'));
  // Let the server settle before the next level's baseline shares the CPU with it.
  await sleep(500);
  return { drained: true, drainMs: done - loadEnded, delivered, deliveredPerSec: perSecond(delivered, done - t0) };
}

export function summarize(r) {
  return table(
    ['concurrency', 'bare ev/s', 'auditstream ev/s', 'ratio', 'bare p50/p99 ms', 'auditstream p50/p99 ms', 'CPU ms/1k ev bare / auditstream', 'of which event loop', 'delivered ev/s', 'drain s'],
    r.levels.map((l) => [
      l.concurrency,
      fmt(l.baseline.eventsPerSec),
      fmt(l.auditstream.eventsPerSec),
      fmtRatio(l.ratio),
      `${fmt(l.baseline.p50Ms)} / ${fmt(l.baseline.p99Ms)}`,
      `${fmt(l.auditstream.p50Ms)} / ${fmt(l.auditstream.p99Ms)}`,
      `${fmt(l.baseline.cpuMsPer1kEvents)} / ${fmt(l.auditstream.cpuMsPer1kEvents)} (${fmtRatio(l.cpuRatio)})`,
      fmt(l.auditstream.loopCpuMsPer1kEvents),
      l.drain.drained ? fmt(l.drain.deliveredPerSec) : 'not drained',
      fmt(l.drain.drainMs / 1000),
    ]),
  );
}
