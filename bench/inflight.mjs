/**
 * inflight: one http emitter delivering to a slow destination (a loopback
 * receiver that answers each request 100 ms after it arrived), with
 * batch.maxInFlight 1 (the baseline: the next batch only once the last was
 * answered), 2 (the http default) and 4, in alternating rounds of the same run.
 *
 * Each level: a fresh server, EVENTS events posted as fast as it takes them,
 * then the time until the receiver holds all of them. Delivered events/s is
 * EVENTS over that time; server CPU is the process's user + system time over
 * the same span (ingest included), per 1000 events.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { eventLine } from './lib/events.mjs';
import { startReceiver } from './lib/receiver.mjs';
import { cpuSecondsOf, startAuditstream, stop, waitUntil } from './lib/processes.mjs';
import { fmt, fmtRatio, ratio, table } from './lib/stats.mjs';

export const description = 'http emitter to a destination answering in 100 ms: delivered events/s and server CPU with batch.maxInFlight 1 (baseline), 2 and 4';

const DELAY_MS = 100;
const EVENTS_PER_REQUEST = 500;

export async function run({ smoke, events, tmp, log }) {
  const total = events ?? (smoke ? 300 : 10_000);
  const batchEvents = smoke ? 50 : 100;
  const levels = smoke ? [1, 2] : [1, 2, 4];
  const rounds = smoke ? 1 : 2;
  const receiver = await startReceiver({ delayMs: DELAY_MS });
  const runs = Object.fromEntries(levels.map((n) => [n, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const n of levels) {
        log(`inflight: round ${round + 1}/${rounds}, maxInFlight ${n}: ${total} events in batches of ${batchEvents}`);
        runs[n].push(await level(n, { total, batchEvents, round, receiver, tmp }));
      }
    }
  } finally {
    await stop(receiver.child);
  }
  const summary = (n) => {
    const r = runs[n];
    const seconds = r.reduce((s, x) => s + x.seconds, 0);
    const cpuSec = r.reduce((s, x) => s + x.cpuSec, 0);
    const delivered = r.reduce((s, x) => s + x.events, 0);
    return { maxInFlight: n, runs: r, eventsPerSec: delivered / seconds, cpuMsPer1k: (cpuSec * 1e6) / delivered, requests: r.reduce((s, x) => s + x.requests, 0) };
  };
  const results = levels.map(summary);
  const base = results[0];
  return {
    setup: { delayMs: DELAY_MS, events: total, batchEvents, rounds, levels, eventsPerRequest: EVENTS_PER_REQUEST },
    levels: results,
    ratios: Object.fromEntries(results.slice(1).map((r) => [r.maxInFlight, { eventsPerSec: ratio(r.eventsPerSec, base.eventsPerSec), cpu: ratio(r.cpuMsPer1k, base.cpuMsPer1k) }])),
  };
}

async function level(maxInFlight, { total, batchEvents, round, receiver, tmp }) {
  const dataDir = await mkdtemp(join(tmp, `inflight-${maxInFlight}-`));
  const path = `/r${round}-n${maxInFlight}`;
  const server = await startAuditstream(dataDir, {
    audit: { emitters: [{ type: 'http', name: 'slow', url: `${receiver.url}${path}`, batch: { maxEvents: batchEvents, lingerMs: 0, maxInFlight } }] },
  });
  try {
    const before = await receiver.count();
    const cpu0 = cpuSecondsOf(server.pid);
    const t0 = performance.now();
    for (let from = 0; from < total; from += EVENTS_PER_REQUEST) {
      const count = Math.min(EVENTS_PER_REQUEST, total - from);
      const body = Array.from({ length: count }, (_, i) => eventLine(`if-${round}-${maxInFlight}-${from + i}`, from + i)).join('\n');
      const res = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
    }
    const after = await waitUntil(
      async () => {
        const c = await receiver.count();
        return c.events - before.events >= total ? c : undefined;
      },
      `${total} events delivered with maxInFlight ${maxInFlight}`,
      600_000,
      20,
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpuSec = cpuSecondsOf(server.pid) - cpu0;
    return { events: after.events - before.events, requests: after.requests - before.requests, seconds, cpuSec };
  } finally {
    await stop(server.child);
  }
}

export function summarize(r) {
  const base = r.levels[0];
  const row = (x) => [
    `${x.maxInFlight}${x === base ? ' (baseline)' : ''}`,
    `${fmt(x.eventsPerSec)}${x === base ? '' : ` (${fmtRatio(ratio(x.eventsPerSec, base.eventsPerSec))})`}`,
    `${fmt(x.cpuMsPer1k)}${x === base ? '' : ` (${fmtRatio(ratio(x.cpuMsPer1k, base.cpuMsPer1k))})`}`,
    fmt(x.requests),
  ];
  return (
    table(['batch.maxInFlight', 'delivered ev/s (÷ baseline)', 'server CPU ms / 1k events (÷ baseline)', 'requests'], r.levels.map(row)) +
    `\n(one http emitter, batches of ${r.setup.batchEvents} events, receiver answering ${r.setup.delayMs} ms after each request; ${fmt(r.setup.events)} events a level, ${r.setup.rounds} alternating rounds)`
  );
}
