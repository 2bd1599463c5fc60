/**
 * Real Kinesis emulators for tests, each run as a child process so a test can
 * kill it (crash tests) and so a hung emulator never blocks the test runner's
 * event loop. Both are in devDependencies: kinesalite (fast, thousands of
 * records/s) and kinesis-local (kinesis-mock compiled to JS; slower, closer to
 * the real API: ListShards filters, stream ARNs, accounts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import type { TestContext } from 'node:test';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Registry } from 'prom-client';
import type { AuditEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/logger.js';
import type { Sink, SinkContext } from '../../src/sinks/sink.js';
import { freePort } from './free-port.js';
import { waitFor } from './temp.js';

export const EMULATOR_CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' } as const;
export const EMULATOR_REGION = 'us-east-1';

export interface KinesisEmulator {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  port: number;
  /** A client for the test's own calls (setup, independent reads). */
  client: KinesisClient;
  /** Creates a stream and resolves once it is ACTIVE. Returns its ARN. */
  createStream(name: string, shards: number): Promise<string>;
  /** The child process, for tests that crash or restart the emulator. */
  process: ChildProcess;
  /** Kills the emulator now (SIGKILL) and resolves when it has exited. */
  kill(): Promise<void>;
}

export interface ReadRecord {
  shardId: string;
  partitionKey: string;
  sequenceNumber: string;
  data: Buffer;
}

const require = createRequire(import.meta.url);

/** kinesalite on 127.0.0.1 in a child process, in-memory, streams ACTIVE after ~10 ms. */
export async function startKinesalite(t: TestContext): Promise<KinesisEmulator> {
  const port = await freePort();
  const kinesaliteMain = require.resolve('kinesalite');
  // The kinesalite CLI listens on every interface; a one-line launcher binds loopback only.
  const launcher = `
    const server = require(${JSON.stringify(kinesaliteMain)})({ createStreamMs: 10, deleteStreamMs: 10, updateStreamMs: 10, shardLimit: 1000 });
    server.listen(${port}, '127.0.0.1', () => console.log('listening'));
  `;
  const child = spawn(process.execPath, ['-e', launcher], { stdio: ['ignore', 'pipe', 'pipe'] });
  return finishStart(t, child, port, 'kinesalite');
}

/**
 * kinesis-local (kinesis-mock) in a child process. It must run with its package
 * folder as cwd: it reads server.json (the TLS certificate) from there.
 * CREATE_STREAM_DURATION etc. default to 500 ms; they are shortened here so
 * tests do not wait on stream state changes.
 */
export async function startKinesisLocal(t: TestContext): Promise<KinesisEmulator> {
  const port = await freePort();
  const tlsPort = await freePort();
  const pkgDir = dirname(require.resolve('kinesis-local/package.json'));
  const fast = '10ms';
  const child = spawn(process.execPath, ['main.js'], {
    cwd: pkgDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      KINESIS_MOCK_PLAIN_PORT: String(port),
      // Its TLS port defaults to 4567: two instances (or a kinesalite on 4567) would collide.
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      CREATE_STREAM_DURATION: fast,
      DELETE_STREAM_DURATION: fast,
      REGISTER_STREAM_CONSUMER_DURATION: fast,
      DEREGISTER_STREAM_CONSUMER_DURATION: fast,
      START_STREAM_ENCRYPTION_DURATION: fast,
      STOP_STREAM_ENCRYPTION_DURATION: fast,
      MERGE_SHARDS_DURATION: fast,
      SPLIT_SHARD_DURATION: fast,
      UPDATE_SHARD_COUNT_DURATION: fast,
      UPDATE_STREAM_MODE_DURATION: fast,
      SHARD_LIMIT: '1000',
      SHOULD_PERSIST_DATA: 'false',
      LOAD_DATA_IF_EXISTS: 'false',
      LOG_LEVEL: 'ERROR',
      ROOT_LOG_LEVEL: 'ERROR',
      AWS_REGION: EMULATOR_REGION,
    },
  });
  return finishStart(t, child, port, 'kinesis-local');
}

async function finishStart(t: TestContext, child: ChildProcess, port: number, name: string): Promise<KinesisEmulator> {
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  // Last resort when the test process dies without running t.after.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);

  const kill = async () => {
    process.removeListener('exit', onExit);
    if (!exited) {
      child.kill('SIGKILL');
      await exitedPromise;
    }
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = emulatorClient(endpoint);
  t.after(async () => {
    client.destroy();
    await kill();
  });

  await waitFor(
    async () => {
      if (exited) throw new Error(`${name} exited during start-up: ${output}`);
      await client.send(new ListShardsCommand({ StreamName: 'auditstream-probe' })).catch((err: { name?: string }) => {
        // Any answer from the emulator (here: no such stream) means it is up.
        if (err.name !== 'ResourceNotFoundException') throw err;
      });
      return true;
    },
    `${name} to answer on ${endpoint}`,
    60_000,
    100,
  );

  return {
    endpoint,
    port,
    client,
    process: child,
    kill,
    createStream: (streamName, shards) => createActiveStream(client, streamName, shards),
  };
}

/** A KinesisClient for an emulator: HTTP/1.1 handler, static credentials, one attempt. */
export function emulatorClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: EMULATOR_REGION,
    // A copy: the SDK tags the object it is given (\$source), which would then fail strict config schemas.
    credentials: { ...EMULATOR_CREDENTIALS },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    maxAttempts: 3,
  });
}

async function createActiveStream(client: KinesisClient, name: string, shards: number): Promise<string> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return waitFor(
    async () => {
      const { StreamDescriptionSummary: s } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      return s?.StreamStatus === 'ACTIVE' ? s.StreamARN ?? name : undefined;
    },
    `stream ${name} to become ACTIVE`,
    30_000,
    25,
  );
}

export async function listAllShards(client: KinesisClient, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(
      new ListShardsCommand(token ? { NextToken: token } : { StreamName: stream }),
    );
    shards.push(...(res.Shards ?? []));
    token = res.NextToken;
  } while (token);
  return shards;
}

/**
 * Reads every record of every shard from TRIM_HORIZON with the SDK directly —
 * independent of auditstream's own Kinesis source — in shard order, then
 * sequence order within a shard.
 */
export async function readAllRecords(client: KinesisClient, stream: string): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  for (const shard of await listAllShards(client, stream)) {
    const shardId = shard.ShardId!;
    let iterator = (
      await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    while (iterator) {
      const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      const records = res.Records ?? [];
      for (const r of records) {
        out.push({
          shardId,
          partitionKey: r.PartitionKey!,
          sequenceNumber: r.SequenceNumber!,
          data: Buffer.from(r.Data ?? new Uint8Array()),
        });
      }
      // An open shard never returns a null iterator: an empty page at the tip means we reached its end.
      if (records.length === 0 && (res.MillisBehindLatest ?? 0) === 0) break;
      iterator = res.NextShardIterator;
    }
  }
  return out;
}

/** Fixtures for Kinesis sink and source tests. */
export function testSinkContext(emitterName = 'kinesis-test'): SinkContext {
  return { configPath: 'audit.emitters[0]', emitterName, dataDir: tmpdir(), logger: createLogger(process.env.AUDITSTREAM_LOG_LEVEL ?? 'warn'), metrics: new Registry() };
}

/** `count` distinct events; actors cycle through `actors` so per-actor order can be checked. */
export function auditEvents(count: number, actors = 7, prefix = 'evt'): AuditEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const record = { service: 'ldap', method: 'bind', username: `user${i % actors}`, success: i % 5 !== 0, timestamp: 1_700_000_000_000 + i };
    return {
      id: `${prefix}-${String(i).padStart(6, '0')}`,
      time: new Date(record.timestamp).toISOString(),
      type: 'ldap.bind',
      source: 'foxpass',
      service: 'ldap',
      outcome: record.success ? 'success' : 'failure',
      actor: record.username,
      message: `bind ${i}`,
      details: { n: i },
      raw: JSON.stringify(record),
    };
  });
}

export interface DeliveryReport {
  /** send() calls made. */
  calls: number;
  /** Events that came back `retry` at least once, counted per occurrence. */
  retries: number;
  rejected: { event: AuditEvent; reason: string }[];
}

/**
 * A stand-in for the emitter's retry loop: sends in batches of the sink's
 * `batch.maxEvents`, resends only the events whose outcome was `retry` (in
 * queue order, ahead of the rest), until every event is delivered or rejected.
 */
export async function sendUntilDelivered(sink: Sink, events: readonly AuditEvent[], maxCalls = 1000): Promise<DeliveryReport> {
  const report: DeliveryReport = { calls: 0, retries: 0, rejected: [] };
  let queue = [...events];
  const signal = new AbortController().signal;
  while (queue.length > 0) {
    if (report.calls++ >= maxCalls) throw new Error(`not delivered after ${maxCalls} send() calls: ${queue.length} events left`);
    const batch = queue.slice(0, sink.batch.maxEvents);
    const outcomes = await sink.send(batch, signal);
    const again: AuditEvent[] = [];
    outcomes.forEach((o, i) => {
      if (o.status === 'retry') {
        report.retries++;
        again.push(batch[i]!);
      } else if (o.status === 'rejected') report.rejected.push({ event: batch[i]!, reason: o.reason });
    });
    queue = [...again, ...queue.slice(batch.length)];
  }
  return report;
}
