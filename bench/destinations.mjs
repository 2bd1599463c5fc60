/**
 * destinations: what configured but idle destinations cost. Servers with 1,
 * 100, 1 000 and 10 000 `log` emitters, each taking only an event type of its
 * own that nobody sends (`include`), so no emitter receives an event. For each:
 * the start-up time (spawn to listening), the RSS once started, and the CPU
 * seconds the server uses over a stretch with no traffic at all. A destination
 * with no events must have no timer, file or loop, so idle CPU must not grow
 * with the count. Then a few batches of events of the first emitter's type
 * are posted, to show what routing each event past every other emitter's
 * filter costs, and what one /metrics scrape costs, since it has series for
 * every emitter. Baseline: the 1-emitter server.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cpuSecondsOf, memoryOf, scrapeMetrics, sleep, startAuditstream, stop, waitUntil } from './lib/processes.mjs';
import { fmt, fmtRatio, ratio, table } from './lib/stats.mjs';

export const description = 'start-up time, RSS and idle CPU with 1 to 10 000 configured destinations that receive nothing';

export async function run({ smoke, tmp, log }) {
  const counts = smoke ? [1, 100] : [1, 100, 1_000, 10_000];
  const settleMs = smoke ? 500 : 3_000;
  const idleMs = smoke ? 2_000 : 20_000;
  const routed = smoke ? { batches: 2, batchSize: 500 } : { batches: 20, batchSize: 500 };
  const rows = [];
  for (const destinations of counts) {
    log(`destinations: ${destinations} idle log emitter(s)`);
    rows.push(await level(destinations, settleMs, idleMs, routed, tmp));
  }
  const base = rows[0];
  for (const r of rows) {
    r.startupRatio = ratio(r.startupMs, base.startupMs);
    r.rssRatio = ratio(r.rssMiB, base.rssMiB);
  }
  return { setup: { settleMs, idleMs, routed, emitter: 'log, include: [its own event type], nothing sent' }, levels: rows };
}

async function level(destinations, settleMs, idleMs, routed, tmp) {
  const dataDir = await mkdtemp(join(tmp, `destinations-${destinations}-`));
  const config = {
    audit: {
      eventTypes: Array.from({ length: destinations }, (_, i) => `idle.t${i}`),
      emitters: Array.from({ length: destinations }, (_, i) => ({ type: 'log', name: `d${i}`, file: `logs/d${i}.log`, include: [`idle.t${i}`] })),
    },
  };
  const t0 = Date.now();
  const server = await startAuditstream(dataDir, config, { timeoutMs: 300_000 });
  const startupMs = Date.now() - t0;
  try {
    const startupCpuSec = cpuSecondsOf(server.pid);
    // Start-up work (config, journal open, emitters' first steps) finishes before the idle stretch is measured.
    await sleep(settleMs);
    const cpuBefore = cpuSecondsOf(server.pid);
    const before = Date.now();
    await sleep(idleMs);
    const idleCpuSec = cpuSecondsOf(server.pid) - cpuBefore;
    const wallSec = (Date.now() - before) / 1000;
    const memory = memoryOf(server.pid);
    // Files and descriptors an idle emitter must not hold.
    const logFiles = await readdir(join(dataDir, 'logs')).then((names) => names.length, (err) => (err.code === 'ENOENT' ? 0 : Promise.reject(err)));
    const openFds = (await readdir(`/proc/${server.pid}/fd`)).length;
    const routing = await routeToFirst(server, routed, join(dataDir, 'logs'));
    const scrapeCpuMs = await scrapeCost(server, 5);
    return {
      destinations,
      startupMs,
      startupCpuSec,
      rssMiB: memory.rssMiB,
      peakRssMiB: memory.peakRssMiB,
      idleCpuSec,
      idleWallSec: wallSec,
      idleCpuPercent: (idleCpuSec / wallSec) * 100,
      logFiles,
      openFds,
      routing,
      scrapeCpuMs,
    };
  } finally {
    await stop(server.child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Posts `batches` NDJSON batches of events that only emitter d0 takes, one
 * request at a time, and waits for d0 to log them: server CPU per 1 000 events.
 * The wait reads d0's log file, not /metrics: a scrape renders every emitter's
 * series, and at 10 000 emitters the polls would cost more than the routing.
 * Then what was written: d0's lines and the distinct routed ids in them, and
 * the log files in `logsDir` (d0's alone, when the filters held).
 */
async function routeToFirst(server, { batches, batchSize }, logsDir) {
  const d0Log = join(logsDir, 'd0.log');
  const cpuBefore = cpuSecondsOf(server.pid);
  const t0 = Date.now();
  for (let b = 0; b < batches; b++) {
    const body = Array.from({ length: batchSize }, (_, i) => JSON.stringify({ id: `routed-${b}-${i}`, type: 'idle.t0', time: new Date(t0 + i).toISOString(), actor: 'bench@example.com' })).join('\n');
    const res = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`POST /v1/events answered ${res.status}, expected 202`);
  }
  const events = batches * batchSize;
  await waitUntil(async () => (await linesIn(d0Log)) >= events, 'd0 to log the routed events', 120_000, 100);
  const cpuSec = cpuSecondsOf(server.pid) - cpuBefore;
  const ms = Date.now() - t0;
  const logged = await readFile(d0Log, 'utf8');
  return {
    events,
    ms,
    cpuMsPer1kEvents: (cpuSec * 1e6) / events,
    loggedLines: logged.split('\n').length - 1,
    loggedIds: new Set(logged.match(/"id":"routed-\d+-\d+"/g)).size,
    logFiles: (await readdir(logsDir)).length,
  };
}

async function linesIn(file) {
  const bytes = await readFile(file).catch((err) => (err.code === 'ENOENT' ? Buffer.alloc(0) : Promise.reject(err)));
  let n = 0;
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) n++;
  return n;
}

/** Server CPU ms of one GET /metrics, averaged over `times` scrapes one after the other. */
async function scrapeCost(server, times) {
  const cpuBefore = cpuSecondsOf(server.pid);
  for (let i = 0; i < times; i++) await scrapeMetrics(server.url);
  return ((cpuSecondsOf(server.pid) - cpuBefore) * 1000) / times;
}

export function summarize(r) {
  const base = r.levels[0];
  return (
    table(
      ['destinations', 'start-up s (÷ 1)', 'start-up CPU s', 'RSS MiB (÷ 1)', 'RSS KiB per extra destination', `idle CPU s over ${r.setup.idleMs / 1000} s`, 'idle CPU %', 'log files', 'open fds', 'CPU ms/1k routed ev', 'CPU ms per /metrics scrape'],
      r.levels.map((l) => [
        fmt(l.destinations),
        `${fmt(l.startupMs / 1000)} (${fmtRatio(l.startupRatio)})`,
        fmt(l.startupCpuSec),
        `${fmt(l.rssMiB)} (${fmtRatio(l.rssRatio)})`,
        l.destinations > base.destinations ? fmt(((l.rssMiB - base.rssMiB) * 1024) / (l.destinations - base.destinations)) : '–',
        fmt(l.idleCpuSec),
        fmt(l.idleCpuPercent),
        fmt(l.logFiles),
        fmt(l.openFds),
        fmt(l.routing.cpuMsPer1kEvents),
        fmt(l.scrapeCpuMs),
      ]),
    ) + `\n(idle: no request at all, measured ${r.setup.settleMs / 1000} s after the server said it was listening; CPU from /proc/PID/stat, 10 ms ticks; routed: ${fmt(r.setup.routed.batches * r.setup.routed.batchSize)} events that only the first emitter takes, posted after the idle stretch, until its log file has them; then 5 /metrics scrapes)`
  );
}
