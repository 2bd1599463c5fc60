/**
 * Keeps each shard under its write quota (records/s and bytes/s) by waiting
 * before a PutRecords instead of sending and being throttled. Each shard has
 * two token buckets holding one second of quota. A unit is admitted when the
 * buckets hold its cost (or are full, for a unit larger than one second's
 * quota); admitting may drive a bucket negative, which later units wait out.
 */
class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSec: number,
    now: number,
  ) {
    this.tokens = perSec;
    this.last = now;
  }

  private refill(now: number): void {
    // A drained bucket starts refilling at the end of its pause, which may lie ahead.
    if (now <= this.last) return;
    this.tokens = Math.min(this.perSec, this.tokens + ((now - this.last) / 1000) * this.perSec);
    this.last = now;
  }

  private need(cost: number): number {
    return Math.min(cost, this.perSec);
  }

  msUntil(cost: number, now: number): number {
    this.refill(now);
    const missing = this.need(cost) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing / this.perSec) * 1000);
  }

  take(cost: number): void {
    this.tokens -= cost;
  }

  /** Empties the bucket; it refills from now. */
  drain(now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.tokens, 0);
  }
}

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

export class ShardRateLimiter {
  private readonly buckets = new Map<string, ShardBuckets>();

  constructor(
    private readonly quota: ShardQuota,
    private readonly now: () => number = Date.now,
  ) {}

  private bucketsOf(shardId: string): ShardBuckets {
    let b = this.buckets.get(shardId);
    if (!b) {
      const now = this.now();
      b = {
        records: new TokenBucket(this.quota.recordsPerSecPerShard, now),
        bytes: new TokenBucket(this.quota.bytesPerSecPerShard, now),
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
    return Math.max(b.pausedUntil - now, b.records.msUntil(records, now), b.bytes.msUntil(bytes, now));
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
    b.records.drain(now + THROTTLE_PAUSE_MS);
    b.bytes.drain(now + THROTTLE_PAUSE_MS);
  }

  /** Forgets shards that closed (resharding), so the map of buckets stays bounded. */
  retain(open: ReadonlySet<string>): void {
    for (const id of this.buckets.keys()) if (!open.has(id)) this.buckets.delete(id);
  }
}
