/**
 * collector: events/s from a Kinesis stream of gzip'd CloudWatch Logs
 * envelopes (50 log events each) into the SQLite audit store, through the
 * Kinesis source and the audit-store emitter of a real `auditstream serve`,
 * beside baselines that only gunzip and JSON.parse the same records — from
 * memory (the decoding ceiling) and read from the same emulator.
 */
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gunzipSync, gzipSync } from 'node:zlib';
import { eventLine, BASE_TIME_MS, SPACING_MS } from './lib/events.mjs';
import { REGION, credentials, startKinesalite } from './lib/kinesalite.mjs';
import { cpuSecondsOf, mainThreadCpuSecondsOf, metricSum, scrapeMetrics, startAuditstream, stop, waitUntil } from './lib/processes.mjs';
import { fmt, fmtRatio, perSecond, ratio, table } from './lib/stats.mjs';

export const description = 'Kinesis source (CloudWatch Logs envelopes) into the SQLite audit store vs gunzip + JSON.parse alone';

const PER_ENVELOPE = 50;
const SHARDS = 2;

export async function run({ smoke, events, tmp, log }) {
  const envelopes = Math.max(1, Math.round((events ?? (smoke ? 500 : 100_000)) / PER_ENVELOPE));
  const total = envelopes * PER_ENVELOPE;
  const records = Array.from({ length: envelopes }, (_, k) => envelope(k));
  const emulator = await startKinesalite();
  const dataDir = await mkdtemp(join(tmp, 'collector-'));
  const stream = `bench-cwl-${Date.now()}`;
  try {
    await emulator.createStream(stream, SHARDS);
    log(`collector: writing ${envelopes} envelopes (${total} log events) to the stream`);
    await emulator.putAll(stream, records);

    log('collector: decode-only baseline');
    const decodeOnly = timeDecode(() => records);
    log('collector: read + decode baseline');
    const t0 = performance.now();
    const read = await emulator.readAll(stream);
    const readMs = performance.now() - t0;
    const readDecode = timeDecode(() => read);
    readDecode.ms += readMs;
    readDecode.eventsPerSec = perSecond(readDecode.events, readDecode.ms);

    log('collector: auditstream serve (kinesis source → audit-store)');
    const collector = await collect({ emulator, stream, dataDir, total });
    return {
      setup: { envelopes, logEventsPerEnvelope: PER_ENVELOPE, events: total, shards: SHARDS, gzipBytesPerEnvelope: records.reduce((n, r) => n + r.length, 0) / envelopes, store: 'SQLite (synchronous=FULL)' },
      decodeOnly,
      readDecode,
      collector: { ...collector, ratioToDecode: ratio(collector.eventsPerSec, decodeOnly.eventsPerSec), ratioToReadDecode: ratio(collector.eventsPerSec, readDecode.eventsPerSec) },
    };
  } finally {
    emulator.client.destroy();
    await stop(emulator.child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** One gzip'd DATA_MESSAGE as a CloudWatch Logs subscription delivers it to Kinesis. */
function envelope(k) {
  const logEvents = Array.from({ length: PER_ENVELOPE }, (_, i) => {
    const n = k * PER_ENVELOPE + i;
    return { id: String(36_000_000_000_000_000n + BigInt(n)), timestamp: BASE_TIME_MS + n * SPACING_MS, message: eventLine(`cwl-${n}`, n) };
  });
  const body = { messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: '/idp/audit', logStream: `stream-${k % 4}`, subscriptionFilters: ['auditstream'], logEvents };
  return gzipSync(JSON.stringify(body));
}

/** The decoding ceiling: gunzip each record, parse the envelope, parse each message. */
function timeDecode(datas) {
  const t0 = performance.now();
  let events = 0;
  for (const data of datas()) {
    const env = JSON.parse(gunzipSync(data).toString('utf8'));
    for (const e of env.logEvents) {
      JSON.parse(e.message);
      events++;
    }
  }
  const ms = performance.now() - t0;
  return { events, ms, eventsPerSec: perSecond(events, ms) };
}

async function collect({ emulator, stream, dataDir, total }) {
  const config = {
    logLevel: 'error',
    sources: [{ type: 'kinesis', name: 'cwl', streamName: stream, region: REGION, endpoint: emulator.endpoint, credentials: credentials(), startingPosition: 'TRIM_HORIZON' }],
    audit: { emitters: [{ type: 'audit-store', name: 'audit-store' }] },
  };
  const t0 = performance.now();
  const server = await startAuditstream(dataDir, config);
  const listening = performance.now();
  const cpu0 = cpuSecondsOf(server.pid);
  const mainCpu0 = mainThreadCpuSecondsOf(server.pid);
  try {
    let firstRead;
    let sourceDone;
    await waitUntil(
      async () => {
        const m = await scrapeMetrics(server.url);
        if (firstRead === undefined && metricSum(m, 'auditstream_component_received_events_total', { component_kind: 'source' }) > 0) firstRead = performance.now();
        if (sourceDone === undefined && metricSum(m, 'auditstream_component_sent_events_total', { component_kind: 'source' }) >= total) sourceDone = performance.now();
        return metricSum(m, 'auditstream_component_sent_events_total', { component_id: 'audit-store' }) >= total;
      },
      `${total} events in the audit store`,
      900_000,
      // Each /metrics answer costs the server about 1.5 ms of its main thread: polled every 50 ms, that was up to a
      // tenth of the CPU the run measured on a busy machine. Every 250 ms costs a fifth of it, for a quarter second of resolution.
      250,
    );
    const done = performance.now();
    const cpuSec = cpuSecondsOf(server.pid) - cpu0;
    const mainCpuSec = mainThreadCpuSecondsOf(server.pid) - mainCpu0;
    const stored = storedEvents(join(dataDir, 'audit.db'));
    // Timed from listening, so taking the shard leases counts too: a collector pays it at every start.
    return {
      events: total,
      startMs: listening - t0,
      firstEventAfterMs: (firstRead ?? done) - listening,
      // When the source had every event acknowledged (journalled): what is left after it is the store catching up.
      sourceAcknowledgedAfterMs: (sourceDone ?? done) - listening,
      ms: done - listening,
      eventsPerSec: perSecond(total, done - listening),
      cpuMsPer1kEvents: (cpuSec * 1e6) / total,
      // The event loop alone: source, router, journal and emitters share it; the SQLite writer has a thread of its own.
      mainThreadCpuMsPer1kEvents: (mainCpuSec * 1e6) / total,
      ...stored,
    };
  } finally {
    await stop(server.child);
  }
}

/** What the audit store holds, read from its file after the run: its rows and the distinct log events among them. */
function storedEvents(path) {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT count(*) AS storedRows, count(DISTINCT id) AS storedIds FROM audit_events`).get();
  } finally {
    db.close();
  }
}

export function summarize(r) {
  const c = r.collector;
  return (
    table(
      ['path', 'events/s', 'collector ÷ this', 'events', 'seconds'],
      [
        ['gunzip + JSON.parse, from memory (ceiling)', fmt(r.decodeOnly.eventsPerSec), fmtRatio(c.ratioToDecode), fmt(r.decodeOnly.events), fmt(r.decodeOnly.ms / 1000)],
        ['GetRecords + gunzip + JSON.parse', fmt(r.readDecode.eventsPerSec), fmtRatio(c.ratioToReadDecode), fmt(r.readDecode.events), fmt(r.readDecode.ms / 1000)],
        ['auditstream: kinesis source → SQLite audit store', fmt(c.eventsPerSec), '1.00×', fmt(c.events), fmt(c.ms / 1000)],
      ],
    ) +
    `\n(collector timed from the moment it listened; its first event was read ${fmt(c.firstEventAfterMs)} ms later, ` +
    `its source had all acknowledged after ${fmt(c.sourceAcknowledgedAfterMs)} ms; ` +
    `server CPU ${fmt(c.cpuMsPer1kEvents)} ms per 1k events, ${fmt(c.mainThreadCpuMsPer1kEvents)} of them on the main thread; ${r.setup.envelopes} envelopes of ${r.setup.logEventsPerEnvelope}, ${fmt(r.setup.gzipBytesPerEnvelope)} gzip bytes each)`
  );
}
