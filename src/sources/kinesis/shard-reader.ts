import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  InvalidArgumentException,
  ProvisionedThroughputExceededException,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { type ComponentMetrics, eventsJsonBytes } from '../../core/component-metrics.js';
import type { AuditEvent } from '../../core/event.js';
import { errorMessage } from '../../core/errors.js';
import type { EventTimeBounds } from '../../core/time.js';
import { deaggregate } from '../../formats/containers/kpl.js';
import type { ParseMode } from '../../formats/parse.js';
import { readRecordWithin, type DecodeMode } from '../../formats/read-record.js';
import { abortable, sleep } from '../../core/async.js';
import { backoffDelayMs } from '../../core/retry.js';
import type { Publisher } from '../source.js';
import { alreadyDone, iteratorRequest, type Position } from './checkpoint.js';
import type { HeldLease } from './held-lease.js';
import { SHARD_END } from './lease-table.js';
import type { KinesisMetrics } from './metrics.js';

/** Kinesis serves at most 2 MiB per second per shard to GetRecords. */
const READ_BYTES_PER_SEC = 2 * 1024 * 1024;

export type ReaderEnd = 'shard-end' | 'lost' | 'stopped';

export interface ShardReaderOptions {
  client: KinesisClient;
  /** StreamName or StreamARN, as the API calls take it. */
  streamRef: { StreamName?: string; StreamARN?: string };
  /** Names the stream in events' origin. */
  streamLabel: string;
  region: string;
  lease: HeldLease;
  publisher: Publisher;
  decode: DecodeMode;
  parse: ParseMode;
  /** The source's `vpcFlowFormat`. */
  vpcFlowFormat?: string | undefined;
  keepUnparsed: boolean;
  eventTime: EventTimeBounds;
  /** `server.limits.maxDepth`. */
  maxDepth: number;
  sourceName: string;
  /** The shard as metrics name it: the shard id, prefixed with the region when there are several. */
  shardLabel: string;
  startingTimestamp: Date | undefined;
  pollIntervalMs: number;
  idlePollIntervalMs: number;
  maxRecordsPerCall: number;
  maxEventsPerPublish: number;
  /** Events one user record may yield; more keeps it as one unparsed event. */
  maxEventsPerRecord: number;
  metrics: KinesisMetrics;
  /** The source's component metrics (events, bytes, errors). */
  component: ComponentMetrics;
  logger: Logger;
}

class Stopped extends Error {}

interface Chunk {
  events: AuditEvent[];
  /** Position after the chunk's last user record. */
  end: Position;
}

/**
 * Reads one leased shard: GetRecords → deaggregate → readRecord → publish,
 * checkpointing only after the publisher acknowledged. Never reads a shard it
 * no longer holds: a refused checkpoint (lease lost) ends the reader at once.
 */
export class ShardReader {
  readonly done: Promise<ReaderEnd>;
  private readonly pollAbort = new AbortController();
  private readonly publishAbort = new AbortController();
  private position: Position;
  private millisBehind: number | undefined;
  private lastError: string | undefined;
  private readonly labels: { component_id: string; shard: string };

  constructor(private readonly o: ShardReaderOptions) {
    this.position = { checkpoint: o.lease.checkpoint, subSequenceNumber: o.lease.subSequenceNumber };
    this.labels = { component_id: o.sourceName, shard: o.shardLabel };
    this.done = this.run().finally(() => this.o.metrics.millisBehindLatest.remove(this.labels));
  }

  get shardId(): string {
    return this.o.lease.shardId;
  }

  status(): Record<string, unknown> {
    return {
      shardId: this.shardId,
      checkpoint: this.position.checkpoint,
      subSequenceNumber: this.position.subSequenceNumber,
      millisBehindLatest: this.millisBehind,
      lastError: this.lastError,
    };
  }

  /**
   * Stops polling. An in-flight publish gets `drainMs` to be acknowledged (and
   * checkpointed); after that it is abandoned — its records are read again by
   * whoever holds the shard next. `drainMs` 0: the lease is lost, stop now.
   */
  async stop(drainMs: number): Promise<ReaderEnd> {
    this.pollAbort.abort();
    if (drainMs <= 0) this.publishAbort.abort();
    const timer = setTimeout(() => this.publishAbort.abort(), drainMs);
    try {
      return await this.done;
    } catch (err) {
      this.o.logger.error({ shard: this.shardId, err: errorMessage(err) }, 'shard reader failed');
      return 'stopped';
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(): Promise<ReaderEnd> {
    try {
      if (this.position.checkpoint === SHARD_END) return 'shard-end';
      let iterator = await this.newIterator();
      // Measured from the previous answer, so the service sees the calls at least minGapMs apart whatever the network does.
      let lastAnswerAt = 0;
      let minGapMs = 0;
      let failures = 0;
      for (;;) {
        this.throwIfStopping();
        const wait = lastAnswerAt + Math.max(minGapMs, this.o.pollIntervalMs) - performance.now();
        if (wait > 0) await sleep(wait, this.pollAbort.signal);
        this.throwIfStopping();
        let res;
        try {
          res = await this.o.client.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: this.o.maxRecordsPerCall }),
            { abortSignal: this.pollAbort.signal },
          );
          lastAnswerAt = performance.now();
          failures = 0;
        } catch (err) {
          lastAnswerAt = performance.now();
          this.throwIfStopping();
          this.lastError = errorMessage(err);
          if (err instanceof ProvisionedThroughputExceededException) {
            // Another consumer of the shard (or a big previous read) used the shard's read budget.
            this.o.component.error('throttled', 'receiving');
            minGapMs = backoffDelayMs(failures++, 500, 10_000);
          } else if (err instanceof ExpiredIteratorException) {
            this.o.component.error('iterator_expired', 'receiving');
            // Iterators live 5 minutes; a long wait for an acknowledgement outlives one. Resume from the checkpoint.
            iterator = await this.newIterator();
            minGapMs = this.o.pollIntervalMs;
          } else if (err instanceof InvalidArgumentException) {
            this.o.component.error('iterator_refused', 'receiving');
            this.o.logger.warn({ shard: this.shardId, err: this.lastError }, 'GetRecords refused the iterator; getting a new one');
            iterator = await this.newIterator();
            minGapMs = backoffDelayMs(failures++, 1_000, 30_000);
          } else {
            this.o.component.error('request_failed', 'receiving');
            this.o.logger.warn({ shard: this.shardId, err: this.lastError }, 'GetRecords failed; retrying');
            minGapMs = backoffDelayMs(failures++, 1_000, 30_000);
          }
          continue;
        }
        const records = res.Records ?? [];
        this.millisBehind = res.MillisBehindLatest;
        if (res.MillisBehindLatest !== undefined) this.o.metrics.millisBehindLatest.set(this.labels, res.MillisBehindLatest);
        const bytes = records.reduce((n, r) => n + (r.Data?.byteLength ?? 0), 0);
        this.o.component.receivedBytes(bytes, 'kinesis');
        await this.process(records);
        if (!res.NextShardIterator) {
          await this.saveCheckpoint({ checkpoint: SHARD_END, subSequenceNumber: 0 });
          return 'shard-end';
        }
        iterator = res.NextShardIterator;
        const idle = records.length === 0 && (res.MillisBehindLatest ?? 0) === 0;
        // Spread reads so that this reader alone never exceeds the shard's 2 MiB/s.
        minGapMs = Math.max(idle ? this.o.idlePollIntervalMs : this.o.pollIntervalMs, (bytes / READ_BYTES_PER_SEC) * 1000);
      }
    } catch (err) {
      if (err instanceof Stopped) return this.o.lease.lost ? 'lost' : 'stopped';
      if (err instanceof LeaseLost) return 'lost';
      throw err;
    }
  }

  private async newIterator(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      this.throwIfStopping();
      try {
        const res = await this.o.client.send(
          new GetShardIteratorCommand({
            ...this.o.streamRef,
            ShardId: this.shardId,
            ...iteratorRequest(this.position, this.o.startingTimestamp),
          }),
          { abortSignal: this.pollAbort.signal },
        );
        if (res.ShardIterator) return res.ShardIterator;
        this.lastError = 'GetShardIterator returned no iterator';
      } catch (err) {
        this.throwIfStopping();
        this.lastError = errorMessage(err);
        this.o.component.error('request_failed', 'receiving');
        this.o.logger.warn({ shard: this.shardId, err: this.lastError }, 'GetShardIterator failed; retrying');
      }
      await sleep(backoffDelayMs(attempt, 500, 30_000), this.pollAbort.signal);
    }
  }

  /** Turns one GetRecords page into events, publishing and checkpointing every `maxEventsPerPublish` events. */
  private async process(records: _Record[]): Promise<void> {
    let chunk: Chunk | undefined;
    for (const record of records) {
      const seq = record.SequenceNumber!;
      const data = Buffer.from(record.Data ?? new Uint8Array());
      this.o.metrics.recordsRead.inc({ component_id: this.o.sourceName });
      let users: { data: Buffer; partitionKey: string }[];
      try {
        users = deaggregate(data) ?? [{ data, partitionKey: record.PartitionKey ?? '' }];
      } catch (err) {
        // A damaged aggregated record cannot become events; it must not stop the shard either.
        this.o.component.error('decode_failed', 'processing');
        this.o.logger.warn({ shard: this.shardId, sequenceNumber: seq, err: errorMessage(err) }, 'unreadable KPL record skipped');
        users = [];
      }
      for (let sub = 0; sub < users.length; sub++) {
        if (alreadyDone(this.position, seq, sub)) continue;
        const user = users[sub]!;
        const read = {
          decode: this.o.decode,
          parse: this.o.parse,
          vpcFlowFormat: this.o.vpcFlowFormat,
          keepUnparsed: this.o.keepUnparsed,
          eventTime: this.o.eventTime,
          maxDepth: this.o.maxDepth,
          origin: {
            region: this.o.region,
            stream: this.o.streamLabel,
            shardId: this.shardId,
            sequenceNumber: seq,
            subSequenceNumber: String(sub),
            partitionKey: user.partitionKey,
          },
          // Deterministic, so a replay dedupes. Every stream has a shardId-000000000000, and the same stream
          // name in two regions may hand out equal sequence numbers: region and stream keep them apart.
          idHint: `kinesis://${this.o.region}/${this.o.streamLabel}/${this.shardId}:${seq}:${sub}`,
          ...(record.ApproximateArrivalTimestamp ? { timestampMs: record.ApproximateArrivalTimestamp.getTime() } : {}),
          maxEvents: this.o.maxEventsPerRecord,
        };
        const out = readRecordWithin(user.data, read, 'maxEventsPerRecord');
        this.o.component.received(out.events.length, eventsJsonBytes(out.events));
        const unparsed = out.errors.length + out.unparsed;
        if (unparsed > 0) this.o.component.error('parse_failed', 'processing', unparsed);
        if (out.errors.length > 0) {
          this.o.logger.warn({ shard: this.shardId, sequenceNumber: seq, errors: out.errors.slice(0, 3) }, 'records dropped: no parser accepts them');
        }
        if (out.skipped > 0) this.o.metrics.controlMessages.inc({ component_id: this.o.sourceName }, out.skipped);
        chunk ??= { events: [], end: this.position };
        chunk.events.push(...out.events);
        chunk.end = { checkpoint: seq, subSequenceNumber: sub };
        if (chunk.events.length >= this.o.maxEventsPerPublish) {
          await this.flush(chunk);
          chunk = undefined;
        }
      }
      if (users.length === 0) {
        chunk ??= { events: [], end: this.position };
        chunk.end = { checkpoint: seq, subSequenceNumber: 0 };
      }
    }
    if (chunk) await this.flush(chunk);
  }

  private async flush(chunk: Chunk): Promise<void> {
    if (chunk.events.length > 0) await this.publishUntilAcknowledged(chunk.events);
    await this.saveCheckpoint(chunk.end);
  }

  /** Publishes the same events (same ids) until the delivery policy holds; a replay dedupes in the store. */
  private async publishUntilAcknowledged(events: AuditEvent[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      // Once stopping, nothing new is published; an unacknowledged batch is read again by the shard's next holder.
      if (this.pollAbort.signal.aborted) throw new Stopped();
      let retryAfterMs: number | undefined;
      try {
        // A publisher that does not honour the abort signal is not waited for past the drain time.
        const res = await abortable(this.o.publisher.publish(events, this.publishAbort.signal), this.publishAbort.signal, () => new Stopped());
        if (res.ok) {
          this.o.component.sent(events.length, eventsJsonBytes(events));
          return;
        }
        this.o.component.error(res.retryAfterSec !== undefined ? 'queue_full' : 'delivery_failed', 'sending');
        this.lastError = `publish not acknowledged: ${res.failed.map((f) => `${f.emitter}: ${f.reason}`).join('; ') || 'no reason given'}`;
        retryAfterMs = res.retryAfterSec !== undefined ? res.retryAfterSec * 1000 : undefined;
      } catch (err) {
        if (this.publishAbort.signal.aborted) throw new Stopped();
        this.o.component.error('publish_failed', 'sending');
        this.lastError = `publish failed: ${errorMessage(err)}`;
      }
      await sleep(backoffDelayMs(attempt, 200, 30_000, retryAfterMs), this.pollAbort.signal);
    }
  }

  private async saveCheckpoint(position: Position): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await this.o.lease.saveCheckpoint(position.checkpoint, position.subSequenceNumber))) throw new LeaseLost();
        this.position = position;
        return;
      } catch (err) {
        if (err instanceof LeaseLost) throw err;
        if (this.o.lease.lost) throw new LeaseLost();
        this.lastError = `checkpoint failed: ${errorMessage(err)}`;
        this.o.component.error('checkpoint_failed', 'processing');
        this.o.logger.warn({ shard: this.shardId, err: this.lastError }, 'checkpoint failed; retrying');
      }
      if (this.publishAbort.signal.aborted) throw new Stopped();
      await sleep(backoffDelayMs(attempt, 200, 5_000), this.publishAbort.signal);
    }
  }

  private throwIfStopping(): void {
    if (this.pollAbort.signal.aborted) throw new Stopped();
  }
}

class LeaseLost extends Error {}

