import Database from 'better-sqlite3';
import { FatalError } from '../../core/errors.js';
import { preparePrivateDatabase } from '../../core/private-files.js';
import { LEASE_SCHEMA_VERSION, type Lease, type LeaseTable, type NewLease } from './lease-table.js';

interface Row {
  stream: string;
  lease_key: string;
  checkpoint: string;
  checkpoint_sub_sequence_number: number;
  lease_counter: number;
  lease_owner: string | null;
  owner_switches_since_checkpoint: number;
  parent_shard_ids: string;
  expires_in_ms: number;
}

const COLUMNS = `stream, lease_key, checkpoint, checkpoint_sub_sequence_number, lease_counter, lease_owner,
  owner_switches_since_checkpoint, parent_shard_ids,
  CASE WHEN lease_owner IS NULL THEN 0 ELSE max(0, lease_expires_at - @now) END AS expires_in_ms`;

/**
 * The lease table in a SQLite file: for workers inside one process (or one
 * machine). Several processes on one machine also work — SQLite serialises
 * the conditional updates — but workers on several machines need PostgreSQL.
 */
export class SqliteLeaseTable implements LeaseTable {
  private db: Database.Database | undefined;

  constructor(
    private readonly path: string,
    private readonly application: string,
  ) {}

  async open(): Promise<void> {
    preparePrivateDatabase(this.path);
    const db = new Database(this.path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS kinesis_lease_schema (version INTEGER NOT NULL)`);
      const version = (db.prepare(`SELECT max(version) AS v FROM kinesis_lease_schema`).get() as { v: number | null }).v;
      if (version !== null && version > LEASE_SCHEMA_VERSION) {
        throw new FatalError(
          `lease table ${this.path} has schema version ${version}; this auditstream understands up to ${LEASE_SCHEMA_VERSION}`,
        );
      }
      db.exec(`CREATE TABLE IF NOT EXISTS kinesis_leases (
        application TEXT NOT NULL,
        stream TEXT NOT NULL,
        lease_key TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        checkpoint_sub_sequence_number INTEGER NOT NULL DEFAULT 0,
        lease_counter INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        owner_switches_since_checkpoint INTEGER NOT NULL DEFAULT 0,
        parent_shard_ids TEXT NOT NULL DEFAULT '[]',
        lease_expires_at INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (application, stream, lease_key)
      )`);
      if (version === null) db.prepare(`INSERT INTO kinesis_lease_schema (version) VALUES (?)`).run(LEASE_SCHEMA_VERSION);
    })();
    this.db = db;
  }

  async list(stream: string): Promise<Lease[]> {
    const rows = this.handle()
      .prepare(`SELECT ${COLUMNS} FROM kinesis_leases WHERE application = @app AND stream = @stream ORDER BY lease_key`)
      .all({ app: this.application, stream, now: Date.now() }) as Row[];
    return rows.map(toLease);
  }

  async createIfAbsent(stream: string, leases: NewLease[]): Promise<void> {
    const db = this.handle();
    const insert = db.prepare(
      `INSERT INTO kinesis_leases (application, stream, lease_key, checkpoint, parent_shard_ids)
       VALUES (@app, @stream, @key, @checkpoint, @parents) ON CONFLICT DO NOTHING`,
    );
    db.transaction(() => {
      for (const l of leases) {
        insert.run({ app: this.application, stream, key: l.leaseKey, checkpoint: l.checkpoint, parents: JSON.stringify(l.parentShardIds) });
      }
    })();
  }

  async take(stream: string, leaseKey: string, expectedCounter: number, owner: string, durationMs: number, steal: boolean): Promise<Lease | null> {
    const now = Date.now();
    const row = this.handle()
      .prepare(
        `UPDATE kinesis_leases SET
           lease_owner = @owner,
           lease_counter = lease_counter + 1,
           owner_switches_since_checkpoint = owner_switches_since_checkpoint + (lease_owner IS NOT @owner),
           lease_expires_at = @now + @duration
         WHERE application = @app AND stream = @stream AND lease_key = @key AND lease_counter = @expected
           ${steal ? '' : 'AND (lease_owner IS NULL OR lease_expires_at <= @now)'}
         RETURNING ${COLUMNS}`,
      )
      .get({ app: this.application, stream, key: leaseKey, expected: expectedCounter, owner, duration: durationMs, now }) as Row | undefined;
    return row ? toLease(row) : null;
  }

  async renew(stream: string, leaseKey: string, expectedCounter: number, owner: string, durationMs: number): Promise<Lease | null> {
    const now = Date.now();
    const row = this.handle()
      .prepare(
        `UPDATE kinesis_leases SET lease_counter = lease_counter + 1, lease_expires_at = @now + @duration
         WHERE application = @app AND stream = @stream AND lease_key = @key AND lease_counter = @expected AND lease_owner = @owner
         RETURNING ${COLUMNS}`,
      )
      .get({ app: this.application, stream, key: leaseKey, expected: expectedCounter, owner, duration: durationMs, now }) as Row | undefined;
    return row ? toLease(row) : null;
  }

  async checkpoint(
    stream: string,
    leaseKey: string,
    expectedCounter: number,
    owner: string,
    checkpoint: string,
    subSequenceNumber: number,
  ): Promise<boolean> {
    const res = this.handle()
      .prepare(
        `UPDATE kinesis_leases SET checkpoint = @checkpoint, checkpoint_sub_sequence_number = @sub, owner_switches_since_checkpoint = 0
         WHERE application = @app AND stream = @stream AND lease_key = @key AND lease_counter = @expected AND lease_owner = @owner`,
      )
      .run({ app: this.application, stream, key: leaseKey, expected: expectedCounter, owner, checkpoint, sub: subSequenceNumber });
    return res.changes === 1;
  }

  async release(stream: string, leaseKey: string, expectedCounter: number, owner: string): Promise<boolean> {
    const res = this.handle()
      .prepare(
        `UPDATE kinesis_leases SET lease_owner = NULL, lease_counter = lease_counter + 1, lease_expires_at = 0
         WHERE application = @app AND stream = @stream AND lease_key = @key AND lease_counter = @expected AND lease_owner = @owner`,
      )
      .run({ app: this.application, stream, key: leaseKey, expected: expectedCounter, owner });
    return res.changes === 1;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  private handle(): Database.Database {
    if (!this.db) throw new Error('lease table is not open');
    return this.db;
  }
}

function toLease(r: Row): Lease {
  return {
    stream: r.stream,
    leaseKey: r.lease_key,
    checkpoint: r.checkpoint,
    checkpointSubSequenceNumber: r.checkpoint_sub_sequence_number,
    leaseCounter: r.lease_counter,
    leaseOwner: r.lease_owner,
    ownerSwitchesSinceCheckpoint: r.owner_switches_since_checkpoint,
    parentShardIds: JSON.parse(r.parent_shard_ids) as string[],
    expiresInMs: r.expires_in_ms,
  };
}
