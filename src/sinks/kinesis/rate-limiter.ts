import { TokenBucket, type BucketRate } from '../../core/token-bucket.js';

export interface ShardQuota {
  recordsPerSecPerShard: number;
  bytesPerSecPerShard: number;
}

/** Kinesis measures the quota per second: after a throttle, the shard is left alone for one. */
const THROTTLE_PAUSE_MS = 1000;

interface ShardBuckets {
  records: TokenBucket;
  bytes: TokenBucket;
  /** Epoch ms before which nothing is sent to the shard (after Kinesis throttled it). */
  pausedUntil: number;
}

/**
 * Keeps each shard under its write quota (records/s and bytes/s) by waiting
 * before a PutRecords instead of sending and being throttled. Each shard has
 * two token buckets holding one second of quota. A unit is admitted when the
 * buckets hold its cost (or are full, for a unit larger than one second's
 * quota); admitting may drive a bucket negative, which later units wait out.
 */
export class ShardRateLimiter {
  private readonly buckets = new Map<string, ShardBuckets>();
  private readonly records: BucketRate;
  private readonly bytes: BucketRate;

  constructor(
    quota: ShardQuota,
    private readonly now: () => number = Date.now,
  ) {
    this.records = { perSec: quota.recordsPerSecPerShard, capacity: quota.recordsPerSecPerShard };
    this.bytes = { perSec: quota.bytesPerSecPerShard, capacity: quota.bytesPerSecPerShard };
  }

  private bucketsOf(shardId: string): ShardBuckets {
    let b = this.buckets.get(shardId);
    if (!b) {
      const now = this.now();
      b = {
        records: new TokenBucket(this.records, now),
        bytes: new TokenBucket(this.bytes, now),
        pausedUntil: 0,
      };
      this.buckets.set(shardId, b);
    }
    return b;
  }

  /** Milliseconds until `shardId` can take a unit of `records` records and `bytes` bytes; 0 = now. */
  msUntilAvailable(shardId: string, records: number, bytes: number): number {
    const b = this.bucketsOf(shardId);
    const now = this.now();
    return Math.max(b.pausedUntil - now, b.records.msUntil(records, this.records, now), b.bytes.msUntil(bytes, this.bytes, now));
  }

  /** Takes the quota for one unit if it is available now. */
  tryTake(shardId: string, records: number, bytes: number): boolean {
    if (this.msUntilAvailable(shardId, records, bytes) > 0) return false;
    const b = this.bucketsOf(shardId);
    b.records.take(records);
    b.bytes.take(bytes);
    return true;
  }

  /**
   * Kinesis throttled this shard anyway (another writer shares it, or the
   * quota is lower than configured): pause it for a second, then start from
   * empty buckets.
   */
  throttled(shardId: string): void {
    const b = this.bucketsOf(shardId);
    const now = this.now();
    b.pausedUntil = now + THROTTLE_PAUSE_MS;
    b.records.drain(this.records, now + THROTTLE_PAUSE_MS);
    b.bytes.drain(this.bytes, now + THROTTLE_PAUSE_MS);
  }

  /** Forgets shards that closed (resharding), so the map of buckets stays bounded. */
  retain(open: ReadonlySet<string>): void {
    for (const id of this.buckets.keys()) if (!open.has(id)) this.buckets.delete(id);
  }
}
