/**
 * fanout: the same HTTP ingest load into a server with 1, 10 and 100 `log`
 * emitters that each take every event. Per accepted event it reports the
 * server's CPU, the bytes it wrote (/proc/PID/io), and those bytes split
 * into the journal's (growth of its segment files) and the log files'. The
 * journal writes each event once for all its emitters, so its bytes per
 * event must stay flat as the count grows; the log files' grow with it, as
 * every emitter writes its own copy. Baseline: the 1-emitter server.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runLoad } from './lib/http-load.mjs';
import { cpuSecondsOf, ioOf, metricSum, scrapeMetrics, sleep, startAuditstream, stop, waitUntil } from './lib/processes.mjs';
import { fmt, fmtRatio, ratio, table } from './lib/stats.mjs';

export const description = 'ingest CPU and bytes written per event with 1, 10 and 100 log emitters taking every event (journal bytes must stay flat)';

export async function run({ smoke, tmp, log }) {
  const counts = smoke ? [1, 3] : [1, 10, 100];
  const load = smoke
    ? { concurrency: 2, batchSize: 500, durationMs: 2_000, warmupMs: 0, maxRequests: 4 }
    : // The cap (60 000 events) keeps the 100-emitter drain (6 million log lines) to a minute or two, and the journal in its one 1 GiB segment.
      { concurrency: 8, batchSize: 500, durationMs: 15_000, warmupMs: 0, maxRequests: 120 };
  const rows = [];
  for (const emitters of counts) {
    log(`fanout: ${emitters} log emitter(s)`);
    rows.push(await level(emitters, load, tmp, smoke));
  }
  const base = rows[0];
  for (const r of rows) {
    r.eventsPerSecRatio = ratio(r.eventsPerSec, base.eventsPerSec);
    r.cpuRatio = ratio(r.cpuMsPer1kEvents, base.cpuMsPer1kEvents);
    r.journalBytesRatio = ratio(r.journalBytesPerEvent, base.journalBytesPerEvent);
  }
  return { setup: { load, eventBytes: '≈300', emitter: 'log (json layout, fsync on, the defaults)', journalSegmentBytes: '1GiB' }, levels: rows };
}

async function level(emitters, load, tmp, smoke) {
  const dataDir = await mkdtemp(join(tmp, `fanout-${emitters}-`));
  const config = {
    // One segment for the whole run: its growth is exactly the journal's bytes.
    journal: { segmentBytes: '1GiB' },
    audit: { emitters: Array.from({ length: emitters }, (_, i) => ({ type: 'log', name: `log${i}`, file: `logs/log${i}.log` })) },
  };
  const server = await startAuditstream(dataDir, config);
  try {
    await sleep(smoke ? 300 : 1_000);
    const journalBefore = await bytesIn(join(dataDir, 'journal'), /^segment-/);
    const logsBefore = await bytesIn(join(dataDir, 'logs'), /\.log$/);
    const ioBefore = ioOf(server.pid);
    const cpuBefore = cpuSecondsOf(server.pid);
    // Ids of one length at every count, so bytes per event compare across counts.
    const result = await runLoad({ ...load, url: server.url, prefix: `fan${String(emitters).padStart(3, '0')}-${Date.now()}` });
    const acked = ackedEvents(result);
    const loadCpu = cpuSecondsOf(server.pid) - cpuBefore;
    const drainStarted = Date.now();
    await waitUntil(async () => metricSum(await scrapeMetrics(server.url), 'auditstream_buffer_events') === 0, 'every emitter to deliver every event', smoke ? 60_000 : 300_000, 200);
    const drainMs = Date.now() - drainStarted;
    const cpuSec = cpuSecondsOf(server.pid) - cpuBefore;
    const io = ioOf(server.pid);
    const journalFiles = (await readdir(join(dataDir, 'journal'))).filter((f) => f.startsWith('segment-'));
    const journalBytes = (await bytesIn(join(dataDir, 'journal'), /^segment-/)) - journalBefore;
    const logBytes = (await bytesIn(join(dataDir, 'logs'), /\.log$/)) - logsBefore;
    const per = (bytes) => (acked > 0 ? bytes / acked : Number.NaN);
    return {
      emitters,
      eventsAcked: acked,
      eventsPerSec: result.eventsPerSec,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      statuses: result.statuses,
      drainMs,
      // CPU for accepting and for delivering to every emitter (the drain included).
      cpuMsPer1kEvents: acked > 0 ? (cpuSec * 1e6) / acked : Number.NaN,
      cpuMsPer1kEventsDuringLoad: acked > 0 ? (loadCpu * 1e6) / acked : Number.NaN,
      writeBytesPerEvent: per(io.writeBytes - ioBefore.writeBytes),
      wcharPerEvent: per(io.wchar - ioBefore.wchar),
      rcharPerEvent: per(io.rchar - ioBefore.rchar),
      journalSegments: journalFiles.length,
      journalBytesPerEvent: journalFiles.length === 1 ? per(journalBytes) : Number.NaN,
      logBytesPerEvent: per(logBytes),
      logBytesPerEventPerEmitter: per(logBytes) / emitters,
    };
  } finally {
    await stop(server.child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Events the server acknowledged (2xx), warm-up included, since CPU and bytes are counted for all of them. */
function ackedEvents(load) {
  return Object.entries(load.statuses).reduce((n, [status, count]) => n + (status.startsWith('2') ? count : 0), 0) * load.batchSize;
}

/** Total size of the files in `dir` whose names match `pattern`; 0 when the directory does not exist yet. */
async function bytesIn(dir, pattern) {
  let names;
  try {
    names = await readdir(dir);
  } catch (err) {
    if (err.code === 'ENOENT') return 0;
    throw err;
  }
  let total = 0;
  for (const name of names.filter((n) => pattern.test(n))) total += (await stat(join(dir, name))).size;
  return total;
}

export function summarize(r) {
  return (
    table(
      ['log emitters', 'ev/s (÷ 1)', 'CPU ms/1k ev (÷ 1)', 'journal B/ev (÷ 1)', 'log files B/ev (per emitter)', 'write_bytes B/ev', 'wchar B/ev', 'rchar B/ev', 'drain s'],
      r.levels.map((l) => [
        l.emitters,
        `${fmt(l.eventsPerSec)} (${fmtRatio(l.eventsPerSecRatio)})`,
        `${fmt(l.cpuMsPer1kEvents)} (${fmtRatio(l.cpuRatio)})`,
        `${fmt(l.journalBytesPerEvent)} (${fmtRatio(l.journalBytesRatio)})`,
        `${fmt(l.logBytesPerEvent)} (${fmt(l.logBytesPerEventPerEmitter)})`,
        fmt(l.writeBytesPerEvent),
        fmt(l.wcharPerEvent),
        fmt(l.rcharPerEvent),
        fmt(l.drainMs / 1000),
      ]),
    ) +
    `\n(per acknowledged event; CPU and bytes from the server's /proc/PID/{stat,io} over the load and the drain that followed; load: ${r.setup.load.concurrency} connections × ${r.setup.load.batchSize}-event batches for ${r.setup.load.durationMs / 1000} s or ${fmt(r.setup.load.maxRequests)} requests)`
  );
}
