import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { listAllShards, type StreamRef } from '../../aws/kinesis.js';
import { SHARD_END, TRIM_HORIZON, type Lease, type NewLease } from './lease-table.js';

export interface ShardInfo {
  shardId: string;
  /** ParentShardId and, after a merge, AdjacentParentShardId. */
  parentShardIds: string[];
  /** A closed shard (split or merged away) has an ending sequence number. */
  closed: boolean;
}

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** Every shard of the stream, following ListShards' NextToken pages. */
export async function listShards(
  client: KinesisClient,
  streamRef: StreamRef,
  signal?: AbortSignal,
): Promise<ShardInfo[]> {
  return (await listAllShards(client, streamRef, signal)).map((s) => ({
    shardId: s.ShardId!,
    parentShardIds: [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => !!p),
    closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined,
  }));
}

/**
 * Leases for shards the table does not know yet. On the first sync (no lease
 * at all) shards start at `startingPosition` — LATEST skips closed shards
 * entirely, since everything in them is older than "now". Any shard that
 * appears later was created after this application started (a split or
 * merge), so all of it is new: it starts at TRIM_HORIZON, once its parents end.
 */
export function leasesToCreate(shards: ShardInfo[], existing: Lease[], startingPosition: StartingPosition): NewLease[] {
  const known = new Set(existing.map((l) => l.leaseKey));
  const firstSync = existing.length === 0;
  return shards
    .filter((s) => !known.has(s.shardId))
    .map((s) => ({
      leaseKey: s.shardId,
      parentShardIds: s.parentShardIds,
      checkpoint: !firstSync ? TRIM_HORIZON : startingPosition === 'LATEST' && s.closed ? SHARD_END : startingPosition,
    }));
}
