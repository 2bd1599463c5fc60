import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { classifyAwsError } from '../../aws/errors.js';
import { eventsJsonBytes } from '../../core/component-metrics.js';
import { readRecord, type ReadOptions } from '../../formats/read-record.js';
import type { Publisher, SourceContext } from '../source.js';

/** A delete that keeps failing (no s3:DeleteObject) is retried at most this often. */
const DELETE_RETRY_MAX_MS = 60 * 60 * 1000;

export interface ObjectRef {
  bucket: string;
  key: string;
}

export interface UndeletedObject {
  key: string;
  attempts: number;
  lastError: string;
  nextAttemptAt: number;
}

/** Where a source keeps read objects whose delete failed, so a restart retries the delete instead of reading them again. */
export interface UndeletedObjects {
  undeleted(key: string): UndeletedObject | undefined;
  /** Records a failed delete; the next attempt waits `delayMs`, doubling per failure up to `maxDelayMs`. */
  deleteFailed(object: ObjectRef, error: string, delayMs: number, maxDelayMs: number): UndeletedObject;
  deleted(key: string): void;
}

export interface ObjectToRead extends ObjectRef {
  /** The ETag (quoted, as listed): only that version is read. */
  ifMatch?: string | undefined;
  lastModified?: Date | undefined;
  /** How to read the object; the transport time and event-time window come from the object and the source. */
  read: Omit<ReadOptions, 'timestampMs' | 'eventTime' | 'maxDepth'>;
  /** Events an earlier run already had acknowledged: they are not published again. */
  alreadyAcked: number;
  /** Called after each acknowledged chunk; `done` once every event of the object was. */
  saveProgress(acked: number, done: boolean): void;
}

export interface ObjectReaderOptions {
  sourceName: string;
  ctx: SourceContext;
  client: S3Client;
  publishChunk: number;
  /** The first wait after a failed delete (the source's poll interval). */
  deleteRetryMs: number;
  undeletedObjects: UndeletedObjects;
  /** The source's lastError. */
  onError(message: string): void;
}

/** What read() came to: every event acknowledged, or stopped at a publish the pipeline refused. */
export type ReadOutcome = { ok: true } | { ok: false; retryAfterMs?: number };

/**
 * Reads one S3 object, publishes its events chunk by chunk from where an
 * earlier run stopped, and deletes it when asked. Shared by the sources that
 * read objects (s3, cloudwatch-export) so they count, report and retry alike.
 */
export class ObjectReader {
  readonly stats = { objectsRead: 0, eventsPublished: 0, recordErrors: 0, deleteFailures: 0 };

  constructor(private readonly opts: ObjectReaderOptions) {}

  async read(obj: ObjectToRead, publisher: Publisher, signal: AbortSignal): Promise<ReadOutcome> {
    const { ctx, client } = this.opts;
    const res = await client.send(new GetObjectCommand({ Bucket: obj.bucket, Key: obj.key, ...(obj.ifMatch ? { IfMatch: obj.ifMatch } : {}) }), { abortSignal: signal });
    const body = await res.Body!.transformToByteArray();
    ctx.component.receivedBytes(body.byteLength, 's3');
    const read = readRecord(body, { ...obj.read, ...(obj.lastModified ? { timestampMs: obj.lastModified.getTime() } : {}), eventTime: ctx.eventTime, maxDepth: ctx.maxDepth });
    for (const e of read.errors) ctx.logger.warn({ source: this.opts.sourceName, key: obj.key, record: e.index, err: e.error }, 'record skipped');
    this.stats.recordErrors += read.errors.length;
    const unparsed = read.errors.length + read.unparsed;
    if (unparsed > 0) ctx.component.error('parse_failed', 'processing', unparsed);

    let acked = obj.alreadyAcked;
    // What an earlier run already published is not received again.
    const fresh = read.events.slice(acked);
    ctx.component.received(fresh.length, eventsJsonBytes(fresh));
    while (acked < read.events.length) {
      const chunk = read.events.slice(acked, acked + this.opts.publishChunk);
      const result = await publisher.publish(chunk, signal);
      if (!result.ok) {
        ctx.component.error(result.retryAfterSec !== undefined ? 'queue_full' : 'delivery_failed', 'sending');
        const reasons = result.failed.map((f) => `${f.emitter}: ${f.reason}`).join('; ');
        this.opts.onError(`s3://${obj.bucket}/${obj.key}: not acknowledged (${reasons || 'queue full'})`);
        return result.retryAfterSec !== undefined ? { ok: false, retryAfterMs: result.retryAfterSec * 1000 } : { ok: false };
      }
      ctx.component.sent(chunk.length, eventsJsonBytes(chunk));
      acked += chunk.length;
      this.stats.eventsPublished += chunk.length;
      if (acked < read.events.length) obj.saveProgress(acked, false);
    }
    obj.saveProgress(acked, true);
    this.stats.objectsRead++;
    return { ok: true };
  }

  /**
   * Deletes an object whose events were all acknowledged, or leaves it for a
   * later attempt when a delete failed recently. Publishing its events again
   * would be worse than an object left behind, so a failed delete only backs off.
   */
  async delete(object: ObjectRef, signal: AbortSignal): Promise<void> {
    const { client, undeletedObjects, ctx } = this.opts;
    const pending = undeletedObjects.undeleted(object.key);
    if (pending && pending.nextAttemptAt > Date.now()) return;
    try {
      await client.send(new DeleteObjectCommand({ Bucket: object.bucket, Key: object.key }), { abortSignal: signal });
    } catch (err) {
      if (signal.aborted) return;
      const message = classifyAwsError(err, `delete s3://${object.bucket}/${object.key}`).message;
      const failed = undeletedObjects.deleteFailed(object, message, this.opts.deleteRetryMs, DELETE_RETRY_MAX_MS);
      this.stats.deleteFailures++;
      ctx.component.error('delete_failed', 'processing');
      this.opts.onError(message);
      ctx.logger.warn(
        { source: this.opts.sourceName, key: object.key, attempts: failed.attempts, retryAt: new Date(failed.nextAttemptAt).toISOString(), err: message },
        'cannot delete a read object (s3:DeleteObject); it is not read again, and the delete is retried later',
      );
      return;
    }
    if (pending) undeletedObjects.deleted(object.key);
  }
}
