import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, S3Client, paginateListObjectsV2, type _Object } from '@aws-sdk/client-s3';
import { createS3Client } from '../../aws/s3-client.js';
import { classifyAwsError } from '../../aws/errors.js';
import { sleep } from '../../core/async.js';
import { eventsJsonBytes } from '../../core/component-metrics.js';
import { ConfigError } from '../../core/errors.js';
import { readRecord } from '../../formats/read-record.js';
import type { Publisher, Source, SourceContext, SourceDefinition } from '../source.js';
import { s3SourceSchema, type S3SourceConfig } from './config.js';
import { S3SourceState, StateLocationMismatch } from './state.js';

/** S3's own maximum keys per ListObjectsV2 page. */
const LIST_PAGE_SIZE = 1000;

export interface S3SourceOptions {
  /** Keys per listing page; tests set a few to cross page boundaries without thousands of objects. */
  listPageSize?: number;
}

/** A delete that keeps failing (no s3:DeleteObject) is retried at most this often. */
const DELETE_RETRY_MAX_MS = 60 * 60 * 1000;

/**
 * Objects that are not log data: CloudWatch Logs writes `aws-logs-write-test`
 * when an export task checks the bucket; the S3 emitter's check() writes
 * `.auditstream-check`; keys ending in `/` are console "folders".
 */
function isMarker(key: string): boolean {
  const base = key.slice(key.lastIndexOf('/') + 1);
  return key.endsWith('/') || base === 'aws-logs-write-test' || base === '.auditstream-check';
}

/**
 * Reads log objects from a bucket prefix and publishes their events. Every
 * poll lists the whole prefix and reads each object version not yet
 * completed, whatever its key sorts like. An object counts as read only when
 * every chunk of its events was acknowledged; then it is recorded as completed
 * (and deleted with deleteAfterRead; a failed delete is retried
 * later, never answered by reading the object again). Events get deterministic
 * ids (bucket, key, ETag, position) so an object replayed after a crash dedupes.
 */
export class S3Source implements Source {
  private readonly client: S3Client;
  private readonly state: S3SourceState;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private stats = { polls: 0, objectsRead: 0, eventsPublished: 0, recordErrors: 0, deleteFailures: 0 };
  private lastReadKey: string | undefined;
  private lastError: { message: string; at: string } | undefined;
  private waitMs: number | undefined;
  private readonly listPageSize: number;

  constructor(
    readonly name: string,
    private readonly config: S3SourceConfig,
    private readonly ctx: SourceContext,
    options: S3SourceOptions = {},
  ) {
    this.listPageSize = options.listPageSize ?? LIST_PAGE_SIZE;
    const location = { bucket: config.bucket, prefix: config.prefix };
    try {
      this.state = new S3SourceState(join(ctx.dataDir, 'sources', name), location);
    } catch (err) {
      if (!(err instanceof StateLocationMismatch)) throw err;
      // Found only here: it depends on what the data dir holds, not on the config.
      throw new ConfigError(
        `${ctx.configPath}.name`,
        `${err.message}, not s3://${location.bucket}/${location.prefix}; resuming it would skip or re-read objects. ` +
          `Give this source a name of its own (another name starts with no progress), or move ${err.file} away to start over`,
      );
    }
    this.client = createS3Client(config);
  }

  async start(publisher: Publisher): Promise<void> {
    this.loop ??= this.run(publisher);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.client.destroy();
    this.state.close();
  }

  status(): Record<string, unknown> {
    const { completed, partial, undeleted, undeletedExample } = this.state.summary();
    return {
      bucket: this.config.bucket,
      prefix: this.config.prefix,
      lastReadKey: this.lastReadKey ?? null,
      completed,
      partial,
      undeleted,
      undeletedExample: undeletedExample && { ...undeletedExample, nextAttemptAt: new Date(undeletedExample.nextAttemptAt).toISOString() },
      ...this.stats,
      lastError: this.lastError ?? null,
    };
  }

  private async run(publisher: Publisher): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      this.waitMs = undefined;
      try {
        await this.poll(publisher, signal);
        this.stats.polls++;
      } catch (err) {
        if (signal.aborted) break;
        const e = classifyAwsError(err, `read s3://${this.config.bucket}/${this.config.prefix}`);
        this.lastError = { message: e.message, at: new Date().toISOString() };
        this.ctx.component.error('request_failed', 'receiving');
        this.ctx.logger.warn({ source: this.name, err: e.message }, 'S3 source poll failed; retrying at the next poll');
      }
      await sleep(this.waitMs ?? this.config.pollIntervalSec * 1000, signal);
    }
  }

  /** Lists the whole prefix (no StartAfter: new objects may sort before read ones) and reads what is not completed. */
  private async poll(publisher: Publisher, signal: AbortSignal): Promise<void> {
    this.state.beginListing();
    const pages = paginateListObjectsV2(
      { client: this.client, pageSize: this.listPageSize },
      { Bucket: this.config.bucket, Prefix: this.config.prefix || undefined },
      { abortSignal: signal },
    );
    for await (const page of pages) {
      const objects = (page.Contents ?? []).filter((o) => o.Key && !isMarker(o.Key));
      this.state.listed(objects.map((o) => o.Key!));
      for (const obj of objects) {
        if (!(await this.visit(obj, publisher, signal))) return;
      }
      if (signal.aborted) return;
    }
    this.state.endListing();
  }

  /** False when the poll must stop (a publish was not acknowledged). */
  private async visit(obj: _Object, publisher: Publisher, signal: AbortSignal): Promise<boolean> {
    const key = obj.Key!;
    const etag = (obj.ETag ?? '').replace(/"/g, '');
    if (this.state.completedEtag(key) !== etag) {
      if (!(await this.readObject(obj, key, etag, publisher, signal))) return false;
    }
    if (this.config.deleteAfterRead) await this.deleteRead(key, signal);
    return true;
  }

  /** Publishes one object's events; true once all were acknowledged and the object is recorded as completed. */
  private async readObject(obj: _Object, key: string, etag: string, publisher: Publisher, signal: AbortSignal): Promise<boolean> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key, ...(obj.ETag ? { IfMatch: obj.ETag } : {}) }), {
      abortSignal: signal,
    });
    const body = await res.Body!.transformToByteArray();
    this.ctx.component.receivedBytes(body.byteLength, 's3');
    const read = readRecord(body, {
      decode: this.config.decode,
      parse: this.config.parse,
      vpcFlowFormat: this.config.vpcFlowFormat,
      origin: { bucket: this.config.bucket, key },
      idHint: `s3://${this.config.bucket}/${key}#${etag}`,
      ...(obj.LastModified ? { timestampMs: obj.LastModified.getTime() } : {}),
      keepUnparsed: this.config.keepUnparsed,
      eventTime: this.ctx.eventTime,
      maxDepth: this.ctx.maxDepth,
    });
    for (const e of read.errors) this.ctx.logger.warn({ source: this.name, key, record: e.index, err: e.error }, 'record skipped');
    this.stats.recordErrors += read.errors.length;
    const unparsed = read.errors.length + read.unparsed;
    if (unparsed > 0) this.ctx.component.error('parse_failed', 'processing', unparsed);

    let acked = this.state.acked(key, etag);
    // What an earlier run already published is not received again.
    const fresh = read.events.slice(acked);
    this.ctx.component.received(fresh.length, eventsJsonBytes(fresh));
    while (acked < read.events.length) {
      const chunk = read.events.slice(acked, acked + this.config.publishChunk);
      const result = await publisher.publish(chunk, signal);
      if (!result.ok) {
        this.ctx.component.error(result.retryAfterSec !== undefined ? 'queue_full' : 'delivery_failed', 'sending');
        if (result.retryAfterSec !== undefined) this.waitMs = result.retryAfterSec * 1000;
        const reasons = result.failed.map((f) => `${f.emitter}: ${f.reason}`).join('; ');
        this.lastError = { message: `s3://${this.config.bucket}/${key}: not acknowledged (${reasons || 'queue full'})`, at: new Date().toISOString() };
        return false;
      }
      this.ctx.component.sent(chunk.length, eventsJsonBytes(chunk));
      acked += chunk.length;
      this.stats.eventsPublished += chunk.length;
      if (acked < read.events.length) this.state.savePartial(key, etag, acked);
    }
    this.state.complete(key, etag);
    this.lastReadKey = key;
    this.stats.objectsRead++;
    return true;
  }

  /**
   * Deletes a completed object, or leaves it for a later poll when a delete
   * failed recently. Its events are acknowledged: publishing them again would
   * be worse than an object left behind, so a failed delete only backs off.
   */
  private async deleteRead(key: string, signal: AbortSignal): Promise<void> {
    const pending = this.state.undeleted(key);
    if (pending && pending.nextAttemptAt > Date.now()) return;
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }), { abortSignal: signal });
    } catch (err) {
      if (signal.aborted) return;
      const message = classifyAwsError(err, `delete s3://${this.config.bucket}/${key}`).message;
      const failed = this.state.deleteFailed(key, message, this.config.pollIntervalSec * 1000, DELETE_RETRY_MAX_MS);
      this.stats.deleteFailures++;
      this.ctx.component.error('delete_failed', 'processing');
      this.lastError = { message, at: new Date().toISOString() };
      this.ctx.logger.warn(
        { source: this.name, key, attempts: failed.attempts, retryAt: new Date(failed.nextAttemptAt).toISOString(), err: message },
        'cannot delete a read object (s3:DeleteObject); it is not read again, and the delete is retried later',
      );
      return;
    }
    if (pending) this.state.deleted(key);
  }
}


export const s3SourceDefinition: SourceDefinition<S3SourceConfig> = {
  type: 's3',
  schema: s3SourceSchema,
  create: (name, config, ctx) => new S3Source(name, config, ctx),
};
