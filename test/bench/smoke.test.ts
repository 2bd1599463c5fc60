/**
 * Runs every benchmark at smoke size (`npm run bench -- NAME --smoke`: a few
 * hundred events, one level) so they keep working as the code changes. Only
 * completion and the shape of the results are checked — never a rate: the
 * machine is shared and timings are not behaviour.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** The benchmarks run against dist/: build it when a source file is newer than the last build. */
function distIsStale(): boolean {
  let built: number;
  try {
    built = statSync(join(ROOT, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    return true;
  }
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? newer(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs > built));
  return newer(join(ROOT, 'src'));
}

let needsBuild = distIsStale();

async function smoke(t: import('node:test').TestContext, name: string): Promise<any> {
  const out = await tempDir(t, 'auditstream-bench-smoke-');
  const args = [join(ROOT, 'scripts', 'bench.mjs'), name, '--smoke', '--out', out];
  // Only the first benchmark builds; the others reuse its dist/.
  if (!needsBuild) args.push('--no-build');
  needsBuild = false;
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  assert.match(stdout, new RegExp(`## ${name} `), 'the summary table is printed');
  const files = readdirSync(out).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.json'));
  assert.equal(files.length, 1, `one results file for ${name} in ${out}`);
  const results = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
  assert.equal(results.name, name);
  assert.equal(results.smoke, true);
  assert.equal(typeof results.machine.cpus, 'number');
  return results;
}

const positive = (v: unknown, what: string) => assert.ok(typeof v === 'number' && v > 0 && Number.isFinite(v), `${what} is a positive number, got ${String(v)}`);

test('ingest: auditstream and the bare baseline both acknowledge every batch, with rates, latencies and the ratio', async (t) => {
  const r = await smoke(t, 'ingest');
  assert.equal(r.levels.length, 1);
  const level = r.levels[0];
  for (const side of [level.baseline, level.auditstream]) {
    positive(side.eventsPerSec, 'events/s');
    positive(side.p50Ms, 'p50');
    positive(side.p99Ms, 'p99');
    assert.deepEqual(Object.keys(side.statuses), ['202'], 'every request acknowledged with 202');
  }
  // CPU is read in 10 ms clock ticks: the bare baseline's few hundred smoke events can take less than one.
  assert.ok(Number.isFinite(level.baseline.cpuMsPer1kEvents) && level.baseline.cpuMsPer1kEvents >= 0, `baseline CPU per 1k events: ${level.baseline.cpuMsPer1kEvents}`);
  positive(level.auditstream.cpuMsPer1kEvents, 'auditstream CPU per 1k events');
  positive(level.ratio, 'ratio');
  assert.equal(level.drain.drained, true, 'the queues drained after the load');
  // Empty queues alone would hold if events were dropped: what the log and the store were sent is what was acknowledged.
  assert.equal(level.drain.delivered, level.auditstream.statuses['202'] * r.setup.batchSize, 'every acknowledged event delivered to the log and the store');
});

test('kinesis: the emitter delivers every event, plain and aggregated, beside the PutRecord loop', async (t) => {
  const r = await smoke(t, 'kinesis');
  positive(r.naive.eventsPerSec, 'naive events/s');
  assert.equal(r.naive.putRecordCalls, r.naive.events, 'one PutRecord per event');
  assert.deepEqual(r.emitter.map((e: any) => e.aggregation), [false, true]);
  for (const e of r.emitter) {
    // Read back from the stream, not the bench's count of what it published.
    assert.deepEqual([e.eventsInStream, e.distinctIds], [r.setup.events, r.setup.events], 'every event in the stream, once');
    positive(e.eventsPerSec, 'emitter events/s');
    positive(e.putRecordsCalls, 'PutRecords calls');
    positive(e.recordsPerCall, 'records per call');
    positive(e.bytesPerRecord, 'bytes per record');
    positive(e.ratioToNaive, 'ratio to naive');
  }
  assert.ok(r.emitter[1].eventsPerRecord > 1, 'aggregation packs several events into one record');
});

test('collector: every log event of the envelopes reaches the audit store, beside the decode baselines', async (t) => {
  const r = await smoke(t, 'collector');
  assert.equal(r.decodeOnly.events, r.setup.events);
  assert.equal(r.readDecode.events, r.setup.events);
  // What the audit store holds, not the bench's count of what it wrote to the stream.
  assert.deepEqual([r.collector.storedRows, r.collector.storedIds], [r.setup.events, r.setup.events], 'every log event stored, once');
  for (const v of [r.decodeOnly.eventsPerSec, r.readDecode.eventsPerSec, r.collector.eventsPerSec, r.collector.ratioToDecode]) positive(v, 'rate or ratio');
});

test('store: inserts and searches on SQLite and PostgreSQL, beside the bare-driver ceiling', async (t) => {
  const r = await smoke(t, 'store');
  assert.deepEqual(r.backends.map((b: any) => b.backend), ['sqlite', 'postgres']);
  for (const b of r.backends) {
    if (b.skipped) {
      t.diagnostic(`${b.backend} skipped: ${b.skipped}`);
      continue;
    }
    positive(b.raw.eventsPerSec, `${b.backend} ceiling inserts/s`);
    positive(b.store.eventsPerSec, `${b.backend} store inserts/s`);
    positive(b.raw.cpuMsPer1k, `${b.backend} ceiling CPU ms per 1k events`);
    positive(b.store.cpuMsPer1k, `${b.backend} store CPU ms per 1k events`);
    positive(b.ratio, `${b.backend} ratio`);
    for (const kind of ['byType', 'byActor', 'byTimeRange', 'cursorPaging']) {
      positive(b.searches[kind].p50Ms, `${b.backend} ${kind} p50`);
      positive(b.searches[kind].avgEvents, `${b.backend} ${kind} found events`);
    }
  }
});

test('memory: idle and peak RSS with every destination up and with the audit store down', async (t) => {
  const r = await smoke(t, 'memory');
  assert.equal(r.scenarios.length, 2);
  for (const s of r.scenarios) {
    positive(s.idleRssMiB, 'idle RSS');
    assert.ok(s.peakRssMiB >= s.idleRssMiB, 'peak is at least idle');
    positive(s.highest.heapMiB, 'highest V8 heap');
    assert.ok(s.highest.oldSpaceMiB > 0 && s.highest.oldSpaceMiB < s.highest.heapMiB, 'the old space is part of the heap');
    positive(s.highest.externalMiB, 'highest memory outside the heap');
    positive(s.eventsAcked, 'events acknowledged');
  }
  const down = r.scenarios[1];
  assert.ok(down.queuedAtEnd['audit-store'] >= down.eventsAcked, 'with the store down, every acknowledged event waits in its queue');
});

test('fanout: every emitter count accepts and delivers, and the journal takes the same bytes per event whatever the count', async (t) => {
  const r = await smoke(t, 'fanout');
  assert.deepEqual(r.levels.map((l: any) => l.emitters), [1, 3]);
  for (const l of r.levels) {
    positive(l.eventsAcked, 'events acknowledged');
    positive(l.cpuMsPer1kEvents, 'CPU per 1k events');
    positive(l.wcharPerEvent, 'wchar per event');
    assert.equal(l.journalSegments, 1, 'the run fits in one journal segment');
    positive(l.journalBytesPerEvent, 'journal bytes per event');
  }
  const [one, three] = r.levels;
  // The journal writes each event once for all its emitters; each log emitter writes its own copy.
  // Within a byte: the segment defines the route set (the emitters' names) once, whatever the number of events.
  assert.ok(Math.abs(three.journalBytesPerEvent - one.journalBytesPerEvent) < 1, `journal bytes per event do not grow with the number of emitters (${one.journalBytesPerEvent} vs ${three.journalBytesPerEvent})`);
  assert.ok(Math.abs(three.logBytesPerEvent - 3 * one.logBytesPerEvent) < 0.01 * three.logBytesPerEvent, 'three log files of one copy each');
});

test('destinations: servers with 1 and 100 idle emitters start, idle and hold no file per emitter', async (t) => {
  const r = await smoke(t, 'destinations');
  assert.deepEqual(r.levels.map((l: any) => l.destinations), [1, 100]);
  for (const l of r.levels) {
    positive(l.startupMs, 'start-up time');
    positive(l.rssMiB, 'RSS');
    assert.ok(Number.isFinite(l.idleCpuSec) && l.idleCpuSec >= 0, 'idle CPU measured');
    assert.equal(l.logFiles, 0, 'an emitter that received nothing opened no log file');
    // What the server wrote, not the bench's count of what it sent.
    assert.equal(l.routing.loggedLines, 1_000, 'd0 logged one line per routed event');
    assert.equal(l.routing.loggedIds, 1_000, 'every routed event is in d0\'s log, once');
    assert.equal(l.routing.logFiles, 1, 'no other emitter took a routed event: d0 alone opened its log file');
    assert.ok(Number.isFinite(l.scrapeCpuMs) && l.scrapeCpuMs >= 0, '/metrics scrape CPU measured');
  }
  assert.equal(r.levels[1].openFds, r.levels[0].openFds, 'idle emitters hold no file descriptor of their own');
});

test('tenants: tenants and their http destinations are created through the API, and every event reaches both of its tenant destinations', async (t) => {
  const r = await smoke(t, 'tenants');
  assert.equal(r.single.destinations, 2);
  assert.equal(r.many.destinations, r.setup.tenants * 2);
  for (const s of [r.single, r.many]) {
    assert.equal(s.create.tenants.count, s.tenants, 'every tenant created');
    positive(s.create.testAndAdd.perSec, 'Test & Add destinations/s');
    positive(s.rss.afterDestinationsMiB, 'RSS');
    assert.ok(Number.isFinite(s.idle.cpuSec) && s.idle.cpuSec >= 0, 'idle CPU measured');
  }
  positive(r.many.create.skipTest.perSec, 'skipTest destinations/s');
  for (const x of [r.single.ingest.oneTenant, r.many.ingest.oneTenant, r.many.ingest.spread]) {
    assert.deepEqual(Object.keys(x.statuses), ['202'], 'every request acknowledged with 202');
    positive(x.eventsAcked, 'events acknowledged');
    assert.equal(x.deliveredEvents, x.eventsAcked * 2, 'the receiver got each acknowledged event from both destinations of its tenant, once each');
    positive(x.deliveredPerSec, 'delivered events/s');
    positive(x.cpuMsPer1kEvents, 'CPU per 1k events');
  }
  // Spread over several tenants, a 500-event request fans out to several destinations, each with its share.
  assert.ok(r.many.ingest.spread.eventsPerDeliveryRequest < r.single.ingest.oneTenant.eventsPerDeliveryRequest, 'spread events reach many destinations');
});

test('quota: both tenants over their ingest quota are refused 429 on every request, early and after parsing', async (t) => {
  const r = await smoke(t, 'quota');
  for (const x of [r.afterParse, r.beforeBody]) {
    assert.deepEqual(Object.keys(x.statuses), ['429'], 'every request refused by the quota');
    assert.equal(x.requests, r.setup.rounds * r.setup.requestsPerRound);
    assert.ok(Number.isFinite(x.cpuMsPerRequest) && x.cpuMsPerRequest >= 0, 'server CPU measured');
  }
  assert.ok(r.setup.requestBytes > 140_000, 'about 150 KB a request');
});

test('inflight: every event reaches the slow receiver at each batch.maxInFlight level, with a rate and server CPU beside the baseline of 1', async (t) => {
  const r = await smoke(t, 'inflight');
  assert.deepEqual(r.levels.map((l: { maxInFlight: number }) => l.maxInFlight), r.setup.levels);
  assert.equal(r.levels[0].maxInFlight, 1, 'the baseline is one batch in flight');
  for (const l of r.levels) {
    assert.equal(l.runs.reduce((n: number, x: { events: number }) => n + x.events, 0), r.setup.events * r.setup.rounds, `every event delivered at ${l.maxInFlight}`);
    positive(l.eventsPerSec, 'delivered events/s');
    positive(l.cpuMsPer1k, 'CPU per 1k events');
  }
  positive(r.ratios['2'].eventsPerSec, 'rate ratio of 2 in flight');
});
