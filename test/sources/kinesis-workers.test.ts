/**
 * Issue 5's "done when": two collector workers — separate processes, sharing
 * a PostgreSQL lease table — read a 4-shard stream on kinesis-local. They
 * split the shards 2/2; a shard is split while they read; one worker is
 * SIGKILLed and the other takes its shards over after lease expiry; every
 * record put is stored exactly once (after dedupe by event id), none skipped.
 *
 * This file is also the worker: started with AUDITSTREAM_KINESIS_WORKER set,
 * it runs one kinesis source instead of the tests.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ListShardsCommand, PutRecordsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import pg from 'pg';
import { Registry } from 'prom-client';
import { ComponentMetrics } from '../../src/core/component-metrics.js';
import { errorMessage } from '../../src/core/errors.js';
import type { AuditEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/logger.js';
import { DEFAULT_EVENT_TIME_BOUNDS } from '../../src/core/time.js';
import { parseConfig } from '../../src/config/validate.js';
import { PostgresAuditStore } from '../../src/store/postgres-store.js';
import type { Publisher } from '../../src/sources/source.js';
import { kinesisSourceDefinition } from '../../src/sources/kinesis/source.js';
import { SHARD_END, type Lease } from '../../src/sources/kinesis/lease-table.js';
import { PostgresLeaseTable } from '../../src/sources/kinesis/lease-table-postgres.js';
import { EMULATOR_CREDENTIALS, startKinesisLocal } from '../support/kinesis-emulators.js';
import { createPgDatabase } from '../support/pg-database.js';
import { randomName, tempDir, waitFor } from '../support/temp.js';
import { DEFAULT_MAX_DEPTH } from '../../src/formats/parse-helpers/depth.js';

interface WorkerConfig {
  workerId: string;
  dataDir: string;
  storeUrl: string;
  source: Record<string, unknown>;
}

if (process.env.AUDITSTREAM_KINESIS_WORKER) {
  await runWorker(JSON.parse(process.env.AUDITSTREAM_KINESIS_WORKER) as WorkerConfig);
} else {
  defineTests();
}

/**
 * One collector worker. Its publisher writes straight into the real
 * PostgreSQL audit store (inserts dedupe on event id): the router and the
 * audit-store emitter in between are tested in test/pipeline, and the full
 * run through `auditstream serve` belongs to the end-to-end tests.
 */
async function runWorker(cfg: WorkerConfig): Promise<void> {
  const store = new PostgresAuditStore({ url: cfg.storeUrl, poolSize: 4 });
  await store.ping();
  const publisher: Publisher = {
    async publish(events: AuditEvent[]) {
      try {
        await store.insert(events);
        return { ok: true, failed: [] };
      } catch (err) {
        return { ok: false, failed: [{ emitter: 'store', reason: errorMessage(err) }] };
      }
    },
  };
  const config = parseConfig(kinesisSourceDefinition.schema, { ...cfg.source, workerId: cfg.workerId }, 'sources[0]');
  const registry = new Registry();
  const source = kinesisSourceDefinition.create('kinesis', config, { configPath: 'sources[0]', dataDir: cfg.dataDir, logger: createLogger('warn'), metrics: registry, component: new ComponentMetrics(registry, 'source', 'kinesis', 'kinesis'), eventTime: DEFAULT_EVENT_TIME_BOUNDS, maxDepth: DEFAULT_MAX_DEPTH });
  await source.start(publisher);
  process.once('SIGTERM', () => {
    void source
      .stop()
      .then(() => store.close())
      .then(() => process.exit(0));
  });
  process.stdout.write('started\n');
}


interface Worker {
  id: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

function startWorker(t: TestContext, id: string, cfg: Omit<WorkerConfig, 'workerId'>): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, AUDITSTREAM_KINESIS_WORKER: JSON.stringify({ ...cfg, workerId: id }), AUDITSTREAM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  const worker = { id, child, exited, output: () => output };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', () => {
      if (output.includes('started')) resolve(worker);
    });
    void exited.then((code) => reject(new Error(`worker ${id} exited (${code}) during start: ${output}`)));
  });
}

function defineTests(): void {
  test('two workers share a 4-shard stream 2/2, survive a split and a SIGKILL, and store every record exactly once', async (t) => {
    const emulator = await startKinesisLocal(t);
    const stream = randomName('audit');
    await emulator.createStream(stream, 4);
    const url = (await createPgDatabase(t)).url;
    const store = new PostgresAuditStore({ url, poolSize: 2 });
    t.after(() => store.close());
    await store.ping();
    const leases = new PostgresLeaseTable(url, 'collector');
    await leases.open();
    t.after(() => leases.close());
    const leaseRows = () => leases.list(`us-east-1/${stream}`);
    const owners = (rows: Lease[]) => {
      const m = new Map<string, string[]>();
      for (const l of rows) if (l.leaseOwner && l.checkpoint !== SHARD_END) m.set(l.leaseOwner, [...(m.get(l.leaseOwner) ?? []), l.leaseKey]);
      return m;
    };

    // A producer puts numbered records (no ids of their own: event ids come from shard and sequence number) throughout.
    let next = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const batch = Array.from({ length: 10 }, () => {
          const n = next++;
          return { PartitionKey: `user-${n}-${Math.random()}`, Data: Buffer.from(JSON.stringify({ type: 'login', time: '2024-05-01T10:00:00.000Z', actor: `user-${n}`, n })) };
        });
        const res = await emulator.client.send(new PutRecordsCommand({ StreamName: stream, Records: batch }));
        assert.equal(res.FailedRecordCount ?? 0, 0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    t.after(() => {
      producing = false;
      return producer.catch(() => {});
    });

    const workerConfig = {
      dataDir: await tempDir(t),
      storeUrl: url,
      source: {
        streamName: stream,
        region: 'us-east-1',
        endpoint: emulator.endpoint,
        credentials: EMULATOR_CREDENTIALS,
        applicationName: 'collector',
        leaseTable: { type: 'postgres', url },
        leaseDurationSec: 3,
        idlePollIntervalMs: 250,
        // Long on purpose: children must be found because their parent ended, not by the periodic sync.
        shardSyncIntervalSec: 600,
      },
    };

    const a = await startWorker(t, 'worker-a', workerConfig);
    await waitFor(async () => owners(await leaseRows()).get('worker-a')?.length === 4, 'worker-a to hold all 4 shards', 30_000);
    const b = await startWorker(t, 'worker-b', workerConfig);
    const split = await waitFor(
      async () => {
        const o = owners(await leaseRows());
        return o.get('worker-a')?.length === 2 && o.get('worker-b')?.length === 2 ? o : undefined;
      },
      'the shards to split 2/2 between the workers',
      30_000,
    );
    assert.equal(split.size, 2);

    // Split a shard while both read it.
    const { Shards } = await emulator.client.send(new ListShardsCommand({ StreamName: stream }));
    const parent = Shards!.find((s) => s.ShardId === 'shardId-000000000000')!;
    const lo = BigInt(parent.HashKeyRange!.StartingHashKey!);
    const hi = BigInt(parent.HashKeyRange!.EndingHashKey!);
    await emulator.client.send(
      new SplitShardCommand({ StreamName: stream, ShardToSplit: parent.ShardId, NewStartingHashKey: ((lo + hi) / 2n).toString() }),
    );
    const children = await waitFor(
      async () => {
        const rows = await leaseRows();
        const kids = rows.filter((l) => l.parentShardIds.includes(parent.ShardId!));
        const done = rows.find((l) => l.leaseKey === parent.ShardId)?.checkpoint === SHARD_END;
        return done && kids.length === 2 && kids.every((k) => /^\d+$/.test(k.checkpoint)) ? kids : undefined;
      },
      'the parent to reach SHARD_END and both children to be read and checkpointed',
      30_000,
    );
    assert.equal(children.length, 2);

    // Crash worker-a: worker-b takes its shards once their leases expire.
    a.child.kill('SIGKILL');
    await a.exited;
    await waitFor(
      async () => {
        const o = owners(await leaseRows());
        return o.size === 1 && o.get('worker-b')?.length === 5;
      },
      'worker-b to hold every open shard',
      30_000,
    );

    producing = false;
    await producer;
    const total = next;
    await waitFor(async () => (await store.count()) >= total, `all ${total} records to be stored`, 60_000, 250);

    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.search({ limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const e of page.events) seen.push(e.details.n as number);
      cursor = page.nextCursor;
    } while (cursor);
    seen.sort((x, y) => x - y);
    assert.equal(seen.length, total, 'each record stored once');
    assert.deepEqual(seen, Array.from({ length: total }, (_, i) => i), 'no record skipped');

    // A graceful stop releases the leases so another worker could take them at once.
    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.output());
    assert.ok((await leaseRows()).every((l) => l.leaseOwner === null), 'leases released on stop');
  });
}
