import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { FatalError } from '../../src/core/errors.js';
import { SHARD_END, TRIM_HORIZON, type LeaseTable } from '../../src/sources/kinesis/lease-table.js';
import { SqliteLeaseTable } from '../../src/sources/kinesis/lease-table-sqlite.js';
import { PostgresLeaseTable } from '../../src/sources/kinesis/lease-table-postgres.js';
import { createPgDatabase } from '../support/pg-database.js';
import { tempDir, waitFor } from '../support/temp.js';



type Open = (t: TestContext, application?: string) => Promise<LeaseTable>;

const backends: [string, (t: TestContext) => Promise<Open>][] = [
  [
    'sqlite',
    async (t) => {
      const path = join(await tempDir(t), 'leases.sqlite');
      return async (t2, application = 'app') => {
        const table = new SqliteLeaseTable(path, application);
        await table.open();
        t2.after(() => table.close());
        return table;
      };
    },
  ],
  [
    'postgres',
    async (t) => {
      const url = (await createPgDatabase(t)).url;
      return async (t2, application = 'app') => {
        const table = new PostgresLeaseTable(url, application);
        await table.open();
        t2.after(() => table.close());
        return table;
      };
    },
  ],
];

const STREAM = 'us-east-1/audit';
const lease = (leaseKey: string, parentShardIds: string[] = []) => ({ leaseKey, checkpoint: TRIM_HORIZON, parentShardIds });

for (const [backend, setup] of backends) {
  test(`${backend}: leases are created once, unowned, and a second create keeps the existing checkpoint`, async (t) => {
    const open = await setup(t);
    const table = await open(t);
    await table.createIfAbsent(STREAM, [lease('shardId-0'), lease('shardId-1')]);
    const taken = await table.take(STREAM, 'shardId-0', 0, 'w1', 10_000, false);
    assert.ok(taken);
    assert.ok(await table.checkpoint(STREAM, 'shardId-0', taken.leaseCounter, 'w1', '4950', 2));
    await table.createIfAbsent(STREAM, [lease('shardId-0'), lease('shardId-2', ['shardId-0', 'shardId-1'])]);

    const leases = await table.list(STREAM);
    assert.deepEqual(
      leases.map((l) => [l.leaseKey, l.checkpoint, l.checkpointSubSequenceNumber, l.leaseOwner, l.parentShardIds]),
      [
        ['shardId-0', '4950', 2, 'w1', []],
        ['shardId-1', TRIM_HORIZON, 0, null, []],
        ['shardId-2', TRIM_HORIZON, 0, null, ['shardId-0', 'shardId-1']],
      ],
    );
    assert.equal(leases[1]!.expiresInMs, 0);
  });

  test(`${backend}: take is a compare-and-set on leaseCounter — a live lease cannot be taken, a stale counter loses`, async (t) => {
    const open = await setup(t);
    const table = await open(t);
    await table.createIfAbsent(STREAM, [lease('shardId-0')]);

    const w1 = await table.take(STREAM, 'shardId-0', 0, 'w1', 10_000, false);
    assert.equal(w1?.leaseOwner, 'w1');
    assert.equal(w1?.leaseCounter, 1);
    assert.ok(w1.expiresInMs > 0);
    // w2 read the lease before w1 took it: its counter is stale.
    assert.equal(await table.take(STREAM, 'shardId-0', 0, 'w2', 10_000, false), null);
    // With the current counter it still may not take a lease that has not expired.
    assert.equal(await table.take(STREAM, 'shardId-0', 1, 'w2', 10_000, false), null);
    assert.equal((await table.list(STREAM))[0]!.leaseOwner, 'w1');
  });

  test(`${backend}: renewing extends the lease; a renewal with a stale counter or by another worker fails`, async (t) => {
    const open = await setup(t);
    const table = await open(t);
    await table.createIfAbsent(STREAM, [lease('shardId-0')]);
    const w1 = (await table.take(STREAM, 'shardId-0', 0, 'w1', 10_000, false))!;
    const renewed = await table.renew(STREAM, 'shardId-0', w1.leaseCounter, 'w1', 10_000);
    assert.equal(renewed?.leaseCounter, w1.leaseCounter + 1);
    assert.equal(await table.renew(STREAM, 'shardId-0', w1.leaseCounter, 'w1', 10_000), null);
    assert.equal(await table.renew(STREAM, 'shardId-0', renewed.leaseCounter, 'w2', 10_000), null);
  });

  test(`${backend}: an expired lease is taken by another worker; the old owner can neither renew nor checkpoint`, async (t) => {
    const open = await setup(t);
    const table = await open(t);
    await table.createIfAbsent(STREAM, [lease('shardId-0')]);
    const w1 = (await table.take(STREAM, 'shardId-0', 0, 'w1', 300, false))!;
    assert.ok(await table.checkpoint(STREAM, 'shardId-0', w1.leaseCounter, 'w1', '100', 0));

    const expired = await waitFor(async () => {
      const l = (await table.list(STREAM))[0]!;
      return l.expiresInMs === 0 ? l : undefined;
    }, 'the lease to expire');
    assert.equal(expired.leaseOwner, 'w1');
    const w2 = await table.take(STREAM, 'shardId-0', expired.leaseCounter, 'w2', 10_000, false);
    assert.equal(w2?.leaseOwner, 'w2');
    assert.equal(w2.ownerSwitchesSinceCheckpoint, 1);
    assert.equal(w2.checkpoint, '100');

    assert.equal(await table.renew(STREAM, 'shardId-0', w1.leaseCounter, 'w1', 10_000), null);
    assert.equal(await table.checkpoint(STREAM, 'shardId-0', w1.leaseCounter, 'w1', '200', 0), false);
    assert.equal((await table.list(STREAM))[0]!.checkpoint, '100');
  });

  test(`${backend}: stealing takes a live lease; the previous owner's checkpoint is refused`, async (t) => {
    const open = await setup(t);
    const table = await open(t);
    await table.createIfAbsent(STREAM, [lease('shardId-0')]);
    const w1 = (await table.take(STREAM, 'shardId-0', 0, 'w1', 10_000, false))!;
    const stolen = await table.take(STREAM, 'shardId-0', w1.leaseCounter, 'w2', 10_000, true);
    assert.equal(stolen?.leaseOwner, 'w2');
    assert.equal(await table.checkpoint(STREAM, 'shardId-0', w1.leaseCounter, 'w1', '300', 0), false);
    assert.ok(await table.checkpoint(STREAM, 'shardId-0', stolen.leaseCounter, 'w2', '300', 0));
    const after = (await table.list(STREAM))[0]!;
    assert.equal(after.checkpoint, '300');
    assert.equal(after.ownerSwitchesSinceCheckpoint, 0);
  });

  test(`${backend}: a released lease is free at once, and its checkpoint survives reopening the table`, async (t) => {
    const open = await setup(t);
    const table = await open(t);
    await table.createIfAbsent(STREAM, [lease('shardId-0')]);
    const w1 = (await table.take(STREAM, 'shardId-0', 0, 'w1', 60_000, false))!;
    assert.ok(await table.checkpoint(STREAM, 'shardId-0', w1.leaseCounter, 'w1', SHARD_END, 0));
    assert.ok(await table.release(STREAM, 'shardId-0', w1.leaseCounter, 'w1'));
    assert.equal(await table.release(STREAM, 'shardId-0', w1.leaseCounter, 'w1'), false);

    const reopened = await open(t);
    const l = (await reopened.list(STREAM))[0]!;
    assert.equal(l.leaseOwner, null);
    assert.equal(l.checkpoint, SHARD_END);
    assert.ok(await reopened.take(STREAM, 'shardId-0', l.leaseCounter, 'w2', 10_000, false));
  });

  test(`${backend}: applications and streams are separate namespaces`, async (t) => {
    const open = await setup(t);
    const a = await open(t, 'collector-a');
    const b = await open(t, 'collector-b');
    await a.createIfAbsent(STREAM, [lease('shardId-0')]);
    await a.createIfAbsent('eu-west-1/audit', [lease('shardId-9')]);
    assert.deepEqual(await b.list(STREAM), []);
    assert.deepEqual((await a.list(STREAM)).map((l) => l.leaseKey), ['shardId-0']);
    await b.createIfAbsent(STREAM, [lease('shardId-0')]);
    assert.ok(await b.take(STREAM, 'shardId-0', 0, 'w1', 10_000, false));
    assert.equal((await a.list(STREAM))[0]!.leaseOwner, null);
  });

  test(`${backend}: of many workers racing to take one lease exactly one wins`, async (t) => {
    const open = await setup(t);
    const tables = await Promise.all(Array.from({ length: 6 }, () => open(t)));
    await tables[0]!.createIfAbsent(STREAM, [lease('shardId-0')]);
    const results = await Promise.all(tables.map((table, i) => table.take(STREAM, 'shardId-0', 0, `w${i}`, 10_000, false)));
    const winners = results.filter((r) => r !== null);
    assert.equal(winners.length, 1);
    assert.equal((await tables[0]!.list(STREAM))[0]!.leaseOwner, winners[0]!.leaseOwner);
  });
}

test('sqlite: a lease table written by a newer schema version is refused, not misread', async (t) => {
  const path = join(await tempDir(t), 'leases.sqlite');
  const first = new SqliteLeaseTable(path, 'app');
  await first.open();
  await first.close();
  const db = new Database(path);
  db.prepare('UPDATE kinesis_lease_schema SET version = 99').run();
  db.close();
  await assert.rejects(new SqliteLeaseTable(path, 'app').open(), FatalError);
});

test('postgres: concurrent first starts create the schema once', async (t) => {
  const url = (await createPgDatabase(t)).url;
  const tables = Array.from({ length: 4 }, () => new PostgresLeaseTable(url, 'app'));
  t.after(() => Promise.all(tables.map((x) => x.close())));
  await Promise.all(tables.map((x) => x.open()));
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query('SELECT version FROM kinesis_lease_schema');
    assert.deepEqual(rows, [{ version: 1 }]);
  } finally {
    await c.end();
  }
});
