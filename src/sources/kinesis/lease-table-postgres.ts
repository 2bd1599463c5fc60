import pg from 'pg';
import { FatalError } from '../../core/errors.js';
import { LEASE_SCHEMA_VERSION, type Lease, type LeaseTable, type NewLease } from './lease-table.js';

interface Row {
  stream: string;
  lease_key: string;
  checkpoint: string;
  checkpoint_sub_sequence_number: number;
  lease_counter: string;
  lease_owner: string | null;
  owner_switches_since_checkpoint: number;
  parent_shard_ids: string;
  expires_in_ms: string;
}

/** The database's clock in epoch milliseconds: every worker measures expiry against the same clock. */
const NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

const COLUMNS = `stream, lease_key, checkpoint, checkpoint_sub_sequence_number, lease_counter, lease_owner,
  owner_switches_since_checkpoint, parent_shard_ids,
  CASE WHEN lease_owner IS NULL THEN 0 ELSE greatest(0, lease_expires_at - ${NOW}) END AS expires_in_ms`;

/** Any key so that concurrent first starts do not race on CREATE TABLE (which is not safe under concurrency in PostgreSQL). */
const MIGRATION_LOCK = 0x6b696e6573697321n;

/** The lease table in PostgreSQL: for workers on several machines sharing a stream. */
export class PostgresLeaseTable implements LeaseTable {
  private readonly pool: pg.Pool;

  constructor(
    url: string,
    private readonly application: string,
  ) {
    // One lease pass at a time per worker, plus checkpoints from shard readers: a few connections do.
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  async open(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await client.query(`CREATE TABLE IF NOT EXISTS kinesis_lease_schema (version integer NOT NULL)`);
      const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM kinesis_lease_schema`);
      const version = rows[0]?.v ?? null;
      if (version !== null && version > LEASE_SCHEMA_VERSION) {
        throw new FatalError(`lease table has schema version ${version}; this auditstream understands up to ${LEASE_SCHEMA_VERSION}`);
      }
      await client.query(`CREATE TABLE IF NOT EXISTS kinesis_leases (
        application text NOT NULL,
        stream text NOT NULL,
        lease_key text NOT NULL,
        checkpoint text NOT NULL,
        checkpoint_sub_sequence_number integer NOT NULL DEFAULT 0,
        lease_counter bigint NOT NULL DEFAULT 0,
        lease_owner text,
        owner_switches_since_checkpoint integer NOT NULL DEFAULT 0,
        parent_shard_ids text NOT NULL DEFAULT '[]',
        lease_expires_at bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (application, stream, lease_key)
      )`);
      if (version === null) await client.query(`INSERT INTO kinesis_lease_schema (version) VALUES ($1)`, [LEASE_SCHEMA_VERSION]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async list(stream: string): Promise<Lease[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM kinesis_leases WHERE application = $1 AND stream = $2 ORDER BY lease_key`,
      [this.application, stream],
    );
    return rows.map(toLease);
  }

  async createIfAbsent(stream: string, leases: NewLease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.pool.query(
      `INSERT INTO kinesis_leases (application, stream, lease_key, checkpoint, parent_shard_ids)
       SELECT $1, $2, k, c, p FROM unnest($3::text[], $4::text[], $5::text[]) AS t(k, c, p)
       ON CONFLICT DO NOTHING`,
      [
        this.application,
        stream,
        leases.map((l) => l.leaseKey),
        leases.map((l) => l.checkpoint),
        leases.map((l) => JSON.stringify(l.parentShardIds)),
      ],
    );
  }

  async take(stream: string, leaseKey: string, expectedCounter: number, owner: string, durationMs: number, steal: boolean): Promise<Lease | null> {
    const { rows } = await this.pool.query<Row>(
      `UPDATE kinesis_leases SET
         lease_owner = $5,
         lease_counter = lease_counter + 1,
         owner_switches_since_checkpoint = owner_switches_since_checkpoint + CASE WHEN lease_owner IS DISTINCT FROM $5 THEN 1 ELSE 0 END,
         lease_expires_at = ${NOW} + $6
       WHERE application = $1 AND stream = $2 AND lease_key = $3 AND lease_counter = $4
         ${steal ? '' : `AND (lease_owner IS NULL OR lease_expires_at <= ${NOW})`}
       RETURNING ${COLUMNS}`,
      [this.application, stream, leaseKey, expectedCounter, owner, Math.round(durationMs)],
    );
    return rows[0] ? toLease(rows[0]) : null;
  }

  async renew(stream: string, leaseKey: string, expectedCounter: number, owner: string, durationMs: number): Promise<Lease | null> {
    const { rows } = await this.pool.query<Row>(
      `UPDATE kinesis_leases SET lease_counter = lease_counter + 1, lease_expires_at = ${NOW} + $6
       WHERE application = $1 AND stream = $2 AND lease_key = $3 AND lease_counter = $4 AND lease_owner = $5
       RETURNING ${COLUMNS}`,
      [this.application, stream, leaseKey, expectedCounter, owner, Math.round(durationMs)],
    );
    return rows[0] ? toLease(rows[0]) : null;
  }

  async checkpoint(
    stream: string,
    leaseKey: string,
    expectedCounter: number,
    owner: string,
    checkpoint: string,
    subSequenceNumber: number,
  ): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE kinesis_leases SET checkpoint = $6, checkpoint_sub_sequence_number = $7, owner_switches_since_checkpoint = 0
       WHERE application = $1 AND stream = $2 AND lease_key = $3 AND lease_counter = $4 AND lease_owner = $5`,
      [this.application, stream, leaseKey, expectedCounter, owner, checkpoint, subSequenceNumber],
    );
    return res.rowCount === 1;
  }

  async release(stream: string, leaseKey: string, expectedCounter: number, owner: string): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE kinesis_leases SET lease_owner = NULL, lease_counter = lease_counter + 1, lease_expires_at = 0
       WHERE application = $1 AND stream = $2 AND lease_key = $3 AND lease_counter = $4 AND lease_owner = $5`,
      [this.application, stream, leaseKey, expectedCounter, owner],
    );
    return res.rowCount === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function toLease(r: Row): Lease {
  return {
    stream: r.stream,
    leaseKey: r.lease_key,
    checkpoint: r.checkpoint,
    checkpointSubSequenceNumber: r.checkpoint_sub_sequence_number,
    leaseCounter: Number(r.lease_counter),
    leaseOwner: r.lease_owner,
    ownerSwitchesSinceCheckpoint: r.owner_switches_since_checkpoint,
    parentShardIds: JSON.parse(r.parent_shard_ids) as string[],
    expiresInMs: Number(r.expires_in_ms),
  };
}
