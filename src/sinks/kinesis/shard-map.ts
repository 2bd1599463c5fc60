import { createHash, randomBytes } from 'node:crypto';
import { DescribeStreamCommand, KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { awsErrorName, classifyAwsError } from '../../aws/errors.js';
import { listAllShards } from '../../aws/kinesis.js';
import { errorMessage, RetriableError } from '../../core/errors.js';
import type { StreamTarget } from './config.js';

const RETRY_REFRESH_MS = 5_000;

export interface ShardRange {
  shardId: string;
  start: bigint;
  end: bigint;
}

/** Kinesis routes a record by the MD5 of its partition key read as a 128-bit big-endian integer. */
export function hashKeyOf(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/** A uniformly random hash key inside `shard`'s range. */
export function randomHashKeyIn(shard: ShardRange): bigint {
  const span = shard.end - shard.start + 1n;
  return shard.start + (BigInt(`0x${randomBytes(16).toString('hex')}`) % span);
}

/** The open shards of a stream by hash key range. */
export class ShardMap {
  /** Sorted by range start. */
  readonly shards: readonly ShardRange[];
  private readonly ids: ReadonlySet<string>;

  constructor(shards: readonly ShardRange[]) {
    this.shards = [...shards].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.ids = new Set(shards.map((s) => s.shardId));
  }

  shardFor(hashKey: bigint): ShardRange | undefined {
    let lo = 0;
    let hi = this.shards.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.shards[mid]!;
      if (hashKey < s.start) hi = mid - 1;
      else if (hashKey > s.end) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  has(shardId: string): boolean {
    return this.ids.has(shardId);
  }
}

function toRanges(shards: readonly Shard[]): ShardRange[] {
  // A closed shard (parent after a split or merge) has an ending sequence number and takes no writes.
  return shards
    .filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber)
    .map((s) => ({
      shardId: s.ShardId!,
      start: BigInt(s.HashKeyRange!.StartingHashKey!),
      end: BigInt(s.HashKeyRange!.EndingHashKey!),
    }));
}

/**
 * Reads the open shards. ListShards first; the IAM policy vendors ask customers for grants only
 * DescribeStream, PutRecord and PutRecords, so an AccessDenied falls back to
 * paging through DescribeStream.
 */
export async function fetchShardMap(client: KinesisClient, target: StreamTarget, signal?: AbortSignal): Promise<ShardMap> {
  const opts = signal ? { abortSignal: signal } : {};
  try {
    return new ShardMap(toRanges(await listAllShards(client, target.ref, signal)));
  } catch (err) {
    const name = awsErrorName(err);
    if (name !== 'AccessDeniedException' && name !== 'UnknownOperationException') {
      throw classifyAwsError(err, `kinesis:ListShards on stream ${target.name} in ${target.region}`);
    }
  }
  try {
    const shards: Shard[] = [];
    let more = true;
    while (more) {
      const last = shards.at(-1)?.ShardId;
      const res = await client.send(new DescribeStreamCommand({ ...target.ref, ...(last ? { ExclusiveStartShardId: last } : {}) }), opts);
      shards.push(...(res.StreamDescription?.Shards ?? []));
      more = res.StreamDescription?.HasMoreShards === true && (res.StreamDescription.Shards?.length ?? 0) > 0;
    }
    return new ShardMap(toRanges(shards));
  } catch (err) {
    throw classifyAwsError(err, `kinesis:DescribeStream on stream ${target.name} in ${target.region}`);
  }
}

/**
 * The shard map, re-read every `refreshSec` and whenever the sink sees a sign
 * of resharding (a write landing on a shard it does not know, a missing
 * stream). When the role may read neither ListShards nor DescribeStream the
 * map is null: records still go out, without per-shard pacing.
 */
export class ShardMapCache {
  private map: ShardMap | null = null;
  private fetchedAt = -Infinity;
  private pending: Promise<ShardMap | null> | undefined;
  private warnedDenied = false;

  constructor(
    private readonly client: KinesisClient,
    private readonly target: StreamTarget,
    private readonly refreshSec: number,
    private readonly logger: Logger,
  ) {}

  async get(signal?: AbortSignal): Promise<ShardMap | null> {
    if (Date.now() - this.fetchedAt < this.refreshSec * 1000) return this.map;
    this.pending ??= this.refresh(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  invalidate(): void {
    this.fetchedAt = -Infinity;
  }

  private async refresh(signal?: AbortSignal): Promise<ShardMap | null> {
    try {
      this.map = await fetchShardMap(this.client, this.target, signal);
    } catch (err) {
      const name = (err as { code?: string }).code;
      if (err instanceof RetriableError && this.map) {
        // Keep pacing with the map we have; try again soon rather than fail deliveries.
        this.logger.warn({ stream: this.target.name, err: errorMessage(err) }, 'shard map refresh failed; keeping the previous map');
        this.fetchedAt = Date.now() - this.refreshSec * 1000 + RETRY_REFRESH_MS;
        return this.map;
      }
      if (name !== 'AccessDeniedException') throw err;
      if (!this.warnedDenied) {
        this.warnedDenied = true;
        this.logger.warn(
          { stream: this.target.name },
          'cannot read the shard map (kinesis:ListShards and kinesis:DescribeStream denied): sending without per-shard rate limiting',
        );
      }
      this.map = null;
    }
    this.fetchedAt = Date.now();
    return this.map;
  }
}
