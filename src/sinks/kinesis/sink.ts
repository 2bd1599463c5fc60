import { setTimeout as sleep } from 'node:timers/promises';
import { KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { awsClientConfig } from '../../aws/client.js';
import { classifyAwsError } from '../../aws/errors.js';
import { AuditstreamError, errorMessage } from '../../core/errors.js';
import type { AuditEvent } from '../../core/event.js';
import type { BatchLimits, CheckStep, DeliveryOutcome, Sink, SinkContext, SinkDefinition } from '../sink.js';
import { RecordBuilder, type PutUnit } from './batcher.js';
import { checkKinesisSink } from './check.js';
import { KINESIS_LIMITS, kinesisSinkSchema, streamTarget, type KinesisSinkConfig, type StreamTarget } from './config.js';
import { ShardRateLimiter } from './rate-limiter.js';
import { ShardMapCache, type ShardMap } from './shard-map.js';

/** Per-record error codes PutRecords reports; both clear up by themselves. */
const RETRY_CODES = new Set(['ProvisionedThroughputExceededException', 'InternalFailure']);

/** Events per batch when aggregating: many events share one record, the 5 MiB request cap still applies. */
const AGGREGATED_BATCH_EVENTS = 10_000;

export class KinesisSink implements Sink {
  readonly batch: BatchLimits;
  readonly partitionKeyOf?: (event: AuditEvent) => string;
  private readonly client: KinesisClient;
  private readonly target: StreamTarget;
  private readonly builder: RecordBuilder;
  private readonly shardMaps: ShardMapCache;
  private readonly limiter: ShardRateLimiter;
  private readonly logger: Logger;

  constructor(
    private readonly cfg: KinesisSinkConfig,
    ctx: SinkContext,
  ) {
    this.target = streamTarget(cfg);
    this.logger = ctx.logger.child({ emitter: ctx.emitterName, sink: 'kinesis', stream: this.target.name });
    this.client = new KinesisClient(awsClientConfig({ ...cfg, region: this.target.region }));
    this.builder = new RecordBuilder(cfg);
    this.shardMaps = new ShardMapCache(this.client, this.target, cfg.shardMapRefreshSec, this.logger);
    this.limiter = new ShardRateLimiter(cfg.rateLimit);
    this.batch = {
      maxEvents: cfg.aggregation ? AGGREGATED_BATCH_EVENTS : cfg.maxRecordsPerRequest,
      maxBytes: KINESIS_LIMITS.bytesPerRequest,
      lingerMs: cfg.lingerMs,
      // A keyed stream (partitionKeyOf below) gets one batch at a time from the emitter whatever this says.
      maxInFlight: 2,
    };
    if (this.builder.keyed) this.partitionKeyOf = (event) => this.builder.fieldKeyOf(event);
  }

  /**
   * Sends the batch in as many PutRecords calls as the request limits and the
   * shards' quotas need, waiting for quota rather than being throttled. Each
   * record's own result decides its events' outcomes, so only failed records
   * are ever sent again. A whole-call failure throws only while nothing of the
   * batch has been written yet; after that it becomes `retry` for the rest, so
   * records already accepted are never resent.
   */
  async send(batch: readonly AuditEvent[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = new Array(batch.length);
    const map = await this.currentShardMap(signal);
    const plan = this.builder.plan(batch, map);
    for (const r of plan.rejected) outcomes[r.index] = { status: 'rejected', reason: r.reason };

    let pending = plan.units;
    let wrote = false;
    const settle = (units: readonly PutUnit[], outcome: DeliveryOutcome) => {
      for (const u of units) for (const i of u.events) outcomes[i] = outcome;
    };

    while (pending.length > 0) {
      const { request, rest, waitMs } = this.take(pending);
      if (request.length === 0) {
        try {
          await sleep(waitMs, undefined, { signal });
        } catch {
          settle(pending, { status: 'retry', reason: 'stopped while waiting for shard write quota' });
          break;
        }
        continue;
      }
      let results: PutRecordsResultEntry[];
      try {
        const res = await this.client.send(
          new PutRecordsCommand({ ...this.target.ref, Records: request.map(toEntry) }),
          { abortSignal: signal },
        );
        results = res.Records ?? [];
      } catch (err) {
        const e = classifyAwsError(err, `kinesis:PutRecords to stream ${this.target.name} in ${this.target.region}`);
        if (e instanceof AuditstreamError && e.code === 'ResourceNotFoundException') this.shardMaps.invalidate();
        if (!wrote) throw e;
        settle([...request, ...rest], { status: 'retry', reason: errorMessage(e) });
        break;
      }
      wrote = true;
      const failed = this.settleResults(request, results, settle, map);
      pending = this.builder.keyed ? this.holdBack(rest, failed, settle) : rest;
    }
    return outcomes;
  }

  check(signal: AbortSignal): Promise<CheckStep[]> {
    return checkKinesisSink(this.client, this.cfg, this.target, signal);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async currentShardMap(signal: AbortSignal): Promise<ShardMap | null> {
    const map = await this.shardMaps.get(signal);
    if (map) this.limiter.retain(new Set(map.shards.map((s) => s.shardId)));
    return map;
  }

  /**
   * The next request: units in queue order that fit the request limits and
   * whose shard has quota now. Once a shard is out of quota, later units for it
   * wait too, so a shard's records keep their order.
   */
  private take(pending: readonly PutUnit[]): { request: PutUnit[]; rest: PutUnit[]; waitMs: number } {
    const request: PutUnit[] = [];
    const rest: PutUnit[] = [];
    const blocked = new Set<string>();
    let bytes = 0;
    let waitMs = Infinity;
    for (const u of pending) {
      const full = request.length >= this.cfg.maxRecordsPerRequest || bytes + u.bytes > KINESIS_LIMITS.bytesPerRequest;
      if (full || (u.shardId !== undefined && blocked.has(u.shardId))) {
        rest.push(u);
        continue;
      }
      if (u.shardId !== undefined && !this.limiter.tryTake(u.shardId, 1, u.bytes)) {
        blocked.add(u.shardId);
        waitMs = Math.min(waitMs, this.limiter.msUntilAvailable(u.shardId, 1, u.bytes));
        rest.push(u);
        continue;
      }
      request.push(u);
      bytes += u.bytes;
    }
    return { request, rest, waitMs: Number.isFinite(waitMs) ? Math.max(waitMs, 1) : 0 };
  }

  /**
   * Keyed streams: once a record failed, later records of the same shard (or
   * key, without a map) are not sent in this call — they would overtake the
   * failed one. They go back to the emitter as `retry`, behind it.
   */
  private holdBack(
    rest: PutUnit[],
    failed: ReadonlySet<string>,
    settle: (units: readonly PutUnit[], outcome: DeliveryOutcome) => void,
  ): PutUnit[] {
    if (failed.size === 0) return rest;
    const [held, go] = [rest.filter((u) => failed.has(orderKey(u))), rest.filter((u) => !failed.has(orderKey(u)))];
    settle(held, { status: 'retry', reason: 'held back behind a failed record of the same partition key, to keep their order' });
    return go;
  }

  /** Settles each record from its own result; returns the order keys (see orderKey) of the records that failed. */
  private settleResults(
    request: readonly PutUnit[],
    results: readonly PutRecordsResultEntry[],
    settle: (units: readonly PutUnit[], outcome: DeliveryOutcome) => void,
    map: ShardMap | null,
  ): Set<string> {
    const failed = new Set<string>();
    let throttled = 0;
    let resharded = false;
    request.forEach((unit, i) => {
      const r = results[i];
      if (!r) {
        failed.add(orderKey(unit));
        settle([unit], { status: 'retry', reason: `PutRecords returned ${results.length} results for ${request.length} records` });
        return;
      }
      if (r.ErrorCode) {
        failed.add(orderKey(unit));
        if (r.ErrorCode === 'ProvisionedThroughputExceededException') {
          throttled++;
          if (unit.shardId) this.limiter.throttled(unit.shardId);
        }
        const known = RETRY_CODES.has(r.ErrorCode) ? '' : ' (unrecognised code, retried)';
        settle([unit], { status: 'retry', reason: `${r.ErrorCode}: ${r.ErrorMessage ?? 'no message'}${known}` });
        return;
      }
      if (map && r.ShardId && !map.has(r.ShardId)) resharded = true;
      settle([unit], { status: 'delivered' });
    });
    if (throttled > 0) this.logger.debug({ throttled, sent: request.length }, 'PutRecords: records throttled; they will be resent');
    // A record landed on a shard we do not know: the stream was resharded.
    if (resharded) this.shardMaps.invalidate();
    return failed;
  }
}

/** What a keyed unit's order depends on: its shard, or its partition key when there is no shard map. */
function orderKey(u: PutUnit): string {
  return u.shardId ?? `key:${u.partitionKey}`;
}

function toEntry(u: PutUnit): PutRecordsRequestEntry {
  return {
    Data: u.data,
    PartitionKey: u.partitionKey,
    ...(u.explicitHashKey !== undefined ? { ExplicitHashKey: u.explicitHashKey } : {}),
  };
}

export const kinesisSinkDefinition: SinkDefinition<KinesisSinkConfig> = {
  type: 'kinesis',
  schema: kinesisSinkSchema,
  create: (config, ctx) => new KinesisSink(config, ctx),
};
