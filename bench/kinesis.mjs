/**
 * kinesis: events/s through one Kinesis emitter (durable queue + the real
 * sink, in a Pipeline built from dist/) into kinesalite, with and without KPL
 * aggregation, beside a naive loop that calls PutRecord once per event with
 * the same client settings against the same emulator.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { awsClientConfig } from '../dist/aws/client.js';
import { loadConfig } from '../dist/config/load.js';
import { createLogger } from '../dist/core/logger.js';
import { deaggregate } from '../dist/formats/containers/kpl.js';
import { Pipeline } from '../dist/pipeline/pipeline.js';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { auditEvents } from './lib/events.mjs';
import { REGION, credentials, startKinesalite } from './lib/kinesalite.mjs';
import { cpuSecondsOf, stop, waitUntil } from './lib/processes.mjs';
import { fmt, fmtRatio, perSecond, ratio, table } from './lib/stats.mjs';

export const description = 'one Kinesis emitter into kinesalite, plain and KPL-aggregated, vs a PutRecord-per-event loop';

/**
 * The emitter paces itself to Kinesis' write quota (1,000 records and 1 MiB
 * per second per shard), so on a small stream the quota is the limit. The
 * wide stream lifts that cap far above what one emitter sends, showing the
 * emitter's own ceiling on this machine.
 */
const SHARD_COUNTS = [4, 32];

export async function run({ smoke, events, tmp, log }) {
  const count = events ?? (smoke ? 300 : 40_000);
  // The naive loop is slow by design: bounded by time as well as count.
  const naiveLimit = { count: Math.min(count, smoke ? 100 : 5_000), ms: smoke ? 5_000 : 15_000 };
  const emulator = await startKinesalite();
  const runs = [];
  try {
    for (const shards of smoke ? [SHARD_COUNTS[0]] : SHARD_COUNTS) {
      for (const aggregation of [false, true]) {
        log(`kinesis: emitter, ${shards} shards, aggregation ${aggregation}, ${count} events`);
        runs.push(await emitterRun(emulator, { shards, aggregation, count, tmp }));
      }
    }
    log(`kinesis: naive PutRecord loop, up to ${naiveLimit.count} events / ${naiveLimit.ms / 1000} s`);
    const naive = await naiveRun(emulator, naiveLimit);
    return {
      setup: { emulator: 'kinesalite', quotaPerShard: { recordsPerSec: 1000, bytesPerSec: 1048576 }, events: count },
      naive,
      emitter: runs.map((r) => ({ ...r, ratioToNaive: ratio(r.eventsPerSec, naive.eventsPerSec) })),
    };
  } finally {
    emulator.client.destroy();
    await stop(emulator.child);
  }
}

async function emitterRun(emulator, { shards, aggregation, count, tmp }) {
  const stream = `bench-${shards}-${aggregation ? 'agg' : 'plain'}-${Date.now()}`;
  await emulator.createStream(stream, shards);
  const dataDir = await mkdtemp(join(tmp, 'kinesis-'));
  const file = join(dataDir, 'config.json');
  const emitter = { type: 'kinesis', name: 'kinesis', streamName: stream, region: REGION, endpoint: emulator.endpoint, credentials: credentials(), aggregation };
  await writeFile(file, JSON.stringify({ dataDir, logLevel: 'error', audit: { emitters: [emitter] } }));
  const { config } = loadConfig({ file });
  const pipeline = await Pipeline.start(config, createLogger(process.env.AUDITSTREAM_LOG_LEVEL ?? 'error'));
  const prefix = `k${shards}${aggregation ? 'a' : 'p'}`;
  const batches = [];
  for (let i = 0; i < count; i += 500) batches.push(auditEvents(prefix, i, Math.min(500, count - i)));
  await emulator.takeCalls();
  const cpu0 = cpuSecondsOf(process.pid);
  const emulatorCpu0 = cpuSecondsOf(emulator.child.pid);
  const t0 = performance.now();
  try {
    for (const batch of batches) {
      const res = await pipeline.router.publish(batch);
      if (!res.ok) throw new Error(`publish refused: ${JSON.stringify(res.failed)}`);
    }
    const queuedMs = performance.now() - t0;
    const em = pipeline.emitter('kinesis');
    await waitUntil(() => em.status().delivered >= count, `${count} events delivered to Kinesis`, 600_000, 20);
    const ms = performance.now() - t0;
    const cpuSec = cpuSecondsOf(process.pid) - cpu0;
    const emulatorCpuSec = cpuSecondsOf(emulator.child.pid) - emulatorCpu0;
    const calls = await emulator.takeCalls();
    const datas = await emulator.readAll(stream);
    const bytes = datas.reduce((n, d) => n + d.length, 0);
    const ids = datas.flatMap((d) => (aggregation ? (deaggregate(d) ?? [{ data: d }]).map((u) => u.data) : [d])).map((data) => JSON.parse(data.toString('utf8')).id);
    const distinctIds = new Set(ids).size;
    if (ids.length !== count || distinctIds !== count) throw new Error(`stream holds ${ids.length} events, ${distinctIds} distinct, expected ${count}`);
    return {
      shards,
      aggregation,
      events: count,
      // What the stream holds, read back: the user records and the distinct event ids among them.
      eventsInStream: ids.length,
      distinctIds,
      ms,
      queuedMs,
      eventsPerSec: perSecond(count, ms),
      putRecordsCalls: calls.PutRecords ?? 0,
      kinesisRecords: datas.length,
      eventsPerRecord: count / datas.length,
      recordsPerCall: datas.length / (calls.PutRecords || Number.NaN),
      bytesPerRecord: bytes / datas.length,
      bytesPerEvent: bytes / count,
      cpuMsPer1kEvents: (cpuSec * 1e6) / count,
      emulatorCpuMsPer1kEvents: (emulatorCpuSec * 1e6) / count,
    };
  } finally {
    await pipeline.stop(5_000);
    await rm(dataDir, { recursive: true, force: true });
    await emulator.deleteStream(stream);
  }
}

async function naiveRun(emulator, limit) {
  const stream = `bench-naive-${Date.now()}`;
  await emulator.createStream(stream, SHARD_COUNTS[0]);
  const client = new KinesisClient(awsClientConfig({ region: REGION, endpoint: emulator.endpoint, credentials: credentials() }));
  await emulator.takeCalls();
  const cpu0 = cpuSecondsOf(process.pid);
  const emulatorCpu0 = cpuSecondsOf(emulator.child.pid);
  const t0 = performance.now();
  let sent = 0;
  let bytes = 0;
  try {
    for (const batch = auditEvents('kn', 0, limit.count); sent < limit.count && performance.now() - t0 < limit.ms; sent++) {
      const data = Buffer.from(`${JSON.stringify(batch[sent])}\n`);
      bytes += data.length;
      await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: `pk-${sent}`, Data: data }));
    }
    const ms = performance.now() - t0;
    const cpuSec = cpuSecondsOf(process.pid) - cpu0;
    const emulatorCpuSec = cpuSecondsOf(emulator.child.pid) - emulatorCpu0;
    const calls = await emulator.takeCalls();
    return {
      events: sent,
      ms,
      eventsPerSec: perSecond(sent, ms),
      putRecordCalls: calls.PutRecord ?? 0,
      bytesPerRecord: bytes / sent,
      cpuMsPer1kEvents: (cpuSec * 1e6) / sent,
      emulatorCpuMsPer1kEvents: (emulatorCpuSec * 1e6) / sent,
    };
  } finally {
    client.destroy();
    await emulator.deleteStream(stream);
  }
}

export function summarize(r) {
  const rows = [
    ['PutRecord per event (naive)', fmt(r.naive.eventsPerSec), '1.00×', fmt(r.naive.events), '1', fmt(r.naive.bytesPerRecord), fmt(r.naive.cpuMsPer1kEvents), fmt(r.naive.emulatorCpuMsPer1kEvents)],
    ...r.emitter.map((e) => [
      `emitter, ${e.shards} shards, aggregation ${e.aggregation}`,
      fmt(e.eventsPerSec),
      fmtRatio(e.ratioToNaive),
      fmt(e.events),
      fmt(e.recordsPerCall),
      fmt(e.bytesPerRecord),
      fmt(e.cpuMsPer1kEvents),
      fmt(e.emulatorCpuMsPer1kEvents),
    ]),
  ];
  return (
    table(['path', 'events/s', 'vs naive', 'events', 'records/call', 'bytes/record', 'sender CPU ms/1k ev', 'kinesalite CPU ms/1k ev'], rows) +
    `\n(the emitter paces itself to 1,000 records/s and 1 MiB/s per shard, Kinesis' quota, which kinesalite does not enforce; on 4 shards that caps it near 4,000 records/s)`
  );
}
