/**
 * The lease table, after the Kinesis Client Library's: one row per shard
 * saying who reads it and how far it got. Every change that depends on who
 * holds a lease is a compare-and-set on `leaseCounter`, so two workers can
 * never both believe they hold a shard: the loser's update matches no row.
 *
 * Expiry is computed with the table's own clock (PostgreSQL's for a shared
 * table) so workers on machines with skewed clocks still agree on it.
 */

/** Sentinel checkpoints: where to start before any record was acknowledged, and a finished shard. */
export const TRIM_HORIZON = 'TRIM_HORIZON';
export const LATEST = 'LATEST';
export const AT_TIMESTAMP = 'AT_TIMESTAMP';
export const SHARD_END = 'SHARD_END';

export const LEASE_SCHEMA_VERSION = 1;

export interface Lease {
  /** The stream the shard belongs to: `region/streamName` or the stream ARN. */
  stream: string;
  /** The shard id. */
  leaseKey: string;
  /** A sequence number, or TRIM_HORIZON / LATEST / AT_TIMESTAMP before the first checkpoint, or SHARD_END. */
  checkpoint: string;
  /**
   * With a sequence-number checkpoint: the last user record done inside that
   * (KPL-aggregated) Kinesis record; every user record up to and including
   * it was acknowledged.
   */
  checkpointSubSequenceNumber: number;
  leaseCounter: number;
  leaseOwner: string | null;
  ownerSwitchesSinceCheckpoint: number;
  parentShardIds: string[];
  /** Time left on the lease by the table's clock; 0 when expired or unowned. */
  expiresInMs: number;
}

export interface NewLease {
  leaseKey: string;
  checkpoint: string;
  parentShardIds: string[];
}

export interface LeaseTable {
  /** Creates or migrates the schema. */
  open(): Promise<void>;
  list(stream: string): Promise<Lease[]>;
  /** Inserts the leases that do not exist yet (unowned); existing rows are left as they are. */
  createIfAbsent(stream: string, leases: NewLease[]): Promise<void>;
  /**
   * Takes the lease if its counter is still `expectedCounter` — and, unless
   * `steal`, only if it is unowned or expired. Returns the lease as now held, or null.
   */
  take(stream: string, leaseKey: string, expectedCounter: number, owner: string, durationMs: number, steal: boolean): Promise<Lease | null>;
  /** Extends a held lease; null when another worker changed it meanwhile (the lease is lost). */
  renew(stream: string, leaseKey: string, expectedCounter: number, owner: string, durationMs: number): Promise<Lease | null>;
  /** Records progress on a held lease; false when the lease was lost. Resets ownerSwitchesSinceCheckpoint. */
  checkpoint(
    stream: string,
    leaseKey: string,
    expectedCounter: number,
    owner: string,
    checkpoint: string,
    subSequenceNumber: number,
  ): Promise<boolean>;
  /** Gives a held lease up (owner null, expired) so any worker can take it at once. */
  release(stream: string, leaseKey: string, expectedCounter: number, owner: string): Promise<boolean>;
  close(): Promise<void>;
}
