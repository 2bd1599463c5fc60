/**
 * memory: peak RSS of `auditstream serve` under the ingest load, once with
 * every destination up and once with the audit store's PostgreSQL unreachable
 * for the whole run (a port that refuses connections), each next to the idle
 * RSS of the same server process before the load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runLoad } from './lib/http-load.mjs';
import { memoryOf, metricSum, scrapeMetrics, sleep, startAuditstream, stop, waitUntil } from './lib/processes.mjs';
import { fmt, fmtRatio, ratio, table } from './lib/stats.mjs';

export const description = 'server RSS under ingest load, with all destinations up and with the audit store down, vs idle';

export async function run({ smoke, tmp, log }) {
  const load = smoke
    ? { concurrency: 2, batchSize: 500, durationMs: 2_000, warmupMs: 0, maxRequests: 4 }
    : { concurrency: 16, batchSize: 500, durationMs: 30_000, warmupMs: 0, maxRequests: 50_000 };
  const refusedPort = await unusedPort();
  const scenarios = [
    { name: 'all destinations up', config: undefined, drain: true },
    {
      name: 'audit store down (connection refused)',
      // Shutdown would otherwise spend its whole drain timeout retrying the store that is down.
      config: { server: { shutdownTimeoutSec: 1 }, audit: { emitters: [{ type: 'log', name: 'log' }, { type: 'audit-store', name: 'audit-store', url: `postgres://postgres@127.0.0.1:${refusedPort}/unreachable` }] } },
      drain: false,
    },
  ];
  const results = [];
  for (const s of scenarios) {
    log(`memory: ${s.name}`);
    results.push(await scenario(s, load, tmp, smoke));
  }
  return { setup: { load, refusedPort }, scenarios: results };
}

async function scenario({ name, config, drain }, load, tmp, smoke) {
  const dataDir = await mkdtemp(join(tmp, 'memory-'));
  const server = await startAuditstream(dataDir, config);
  try {
    // Idle: started, nothing sent, a moment to finish start-up work.
    await sleep(smoke ? 500 : 3_000);
    const idle = memoryOf(server.pid);
    let sampledPeak = idle.rssMiB;
    // What the peak is made of: the V8 heap the server has committed (its old space apart) and its
    // Buffers' memory outside the heap, the highest of each, read from its metrics once a second.
    const highest = { heapMiB: 0, oldSpaceMiB: 0, externalMiB: 0 };
    let sampling = true;
    const sampler = (async () => {
      for (let n = 0; sampling; n++) {
        sampledPeak = Math.max(sampledPeak, memoryOf(server.pid).rssMiB);
        // A scrape that fails under load (a timeout) skips this sample: nothing awaits the sampler until
        // the load ends, so a rejection here would end the run as unhandled.
        const m = n % 10 === 0 ? await scrapeMetrics(server.url).catch(() => undefined) : undefined;
        if (m) {
          highest.heapMiB = Math.max(highest.heapMiB, metricSum(m, 'nodejs_heap_size_total_bytes') / 1048576);
          highest.oldSpaceMiB = Math.max(highest.oldSpaceMiB, metricSum(m, 'nodejs_heap_space_size_total_bytes', { space: 'old' }) / 1048576);
          highest.externalMiB = Math.max(highest.externalMiB, metricSum(m, 'nodejs_external_memory_bytes') / 1048576);
        }
        await sleep(100);
      }
    })();
    const result = await runLoad({ ...load, url: server.url, prefix: `mem-${Date.now()}` });
    if (drain) {
      await waitUntil(async () => metricSum(await scrapeMetrics(server.url), 'auditstream_buffer_events') === 0, 'the queues to drain', 180_000, 200);
    }
    sampling = false;
    await sampler;
    const end = memoryOf(server.pid);
    const metrics = await scrapeMetrics(server.url);
    return {
      name,
      idleRssMiB: idle.rssMiB,
      peakRssMiB: end.peakRssMiB,
      sampledPeakRssMiB: sampledPeak,
      highest,
      endRssMiB: end.rssMiB,
      peakToIdle: ratio(end.peakRssMiB, idle.rssMiB),
      eventsAcked: result.events,
      eventsPerSec: result.eventsPerSec,
      queuedAtEnd: Object.fromEntries(['log', 'audit-store'].map((id) => [id, metricSum(metrics, 'auditstream_buffer_events', { component_id: id })])),
      queuedBytesAtEnd: metricSum(metrics, 'auditstream_buffer_byte_size'),
      heapUsedMiB: metricSum(metrics, 'nodejs_heap_size_used_bytes') / 1048576,
    };
  } finally {
    await stop(server.child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A loopback port nothing listens on: connections to it are refused at once. */
function unusedPort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

export function summarize(r) {
  return (
    table(
      ['scenario', 'idle RSS MiB', 'peak RSS MiB', 'peak ÷ idle', 'highest V8 heap / old space / external MiB', 'events acked', 'ev/s', 'queued at end (log / audit-store)'],
      r.scenarios.map((s) => [
        s.name,
        fmt(s.idleRssMiB),
        fmt(s.peakRssMiB),
        fmtRatio(s.peakToIdle),
        `${fmt(s.highest.heapMiB)} / ${fmt(s.highest.oldSpaceMiB)} / ${fmt(s.highest.externalMiB)}`,
        fmt(s.eventsAcked),
        fmt(s.eventsPerSec),
        `${fmt(s.queuedAtEnd.log)} / ${fmt(s.queuedAtEnd['audit-store'])}`,
      ]),
    ) + `\n(peak = the kernel's VmHWM for the server process over its whole life; highest = the main thread's V8 heap (committed), its old space and its Buffers' memory outside the heap, read from the metrics each second; load: ${r.setup.load.concurrency} connections × ${r.setup.load.batchSize}-event batches for ${r.setup.load.durationMs / 1000} s)`
  );
}
