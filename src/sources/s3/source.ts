import { join } from 'node:path';
import { S3Client, paginateListObjectsV2, type _Object } from '@aws-sdk/client-s3';
import { createS3Client } from '../../aws/s3-client.js';
import { classifyAwsError } from '../../aws/errors.js';
import { sleep } from '../../core/async.js';
import { ConfigError } from '../../core/errors.js';
import type { Publisher, Source, SourceContext, SourceDefinition } from '../source.js';
import { ObjectReader } from './object-reader.js';
import { s3SourceSchema, type S3SourceConfig } from './config.js';
import { S3SourceState, StateLocationMismatch } from './state.js';

/** S3's own maximum keys per ListObjectsV2 page. */
const LIST_PAGE_SIZE = 1000;

export interface S3SourceOptions {
  /** Keys per listing page; tests set a few to cross page boundaries without thousands of objects. */
  listPageSize?: number;
}

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
  private readonly reader: ObjectReader;
  private polls = 0;
  private lastReadKey: string | undefined;
  private lastError: { message: string; at: string } | undefined;
  private waitMs: number | undefined;
  private readonly listPageSize: number;
  /** Key → ETag of the objects over maxObjectBytes seen this run. */
  private readonly skippedTooLarge = new Map<string, string>();

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
    this.reader = new ObjectReader({
      sourceName: name,
      ctx,
      client: this.client,
      publishChunk: config.publishChunk,
      deleteRetryMs: config.pollIntervalSec * 1000,
      undeletedObjects: this.state,
      onError: (message) => (this.lastError = { message, at: new Date().toISOString() }),
    });
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
      polls: this.polls,
      ...this.reader.stats,
      objectsTooLarge: this.skippedTooLarge.size,
      lastError: this.lastError ?? null,
    };
  }

  private async run(publisher: Publisher): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      this.waitMs = undefined;
      try {
        await this.poll(publisher, signal);
        this.polls++;
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

  /**
   * False when the poll must stop (a publish was not acknowledged). An object
   * that cannot be read is reported and left for the next poll; the objects
   * after it are read meanwhile, or one bad object would hold back every
   * object listed after it, poll after poll.
   */
  private async visit(obj: _Object, publisher: Publisher, signal: AbortSignal): Promise<boolean> {
    const key = obj.Key!;
    const etag = (obj.ETag ?? '').replace(/"/g, '');
    if (this.state.completedEtag(key) !== etag) {
      if (obj.Size !== undefined && obj.Size > this.config.maxObjectBytes) {
        this.skipTooLarge(key, etag, obj.Size);
        // Not recorded as completed, so not deleted either: its events were never read.
        return true;
      }
      try {
        if (!(await this.readObject(obj, key, etag, publisher, signal))) return false;
      } catch (err) {
        if (signal.aborted) throw err;
        const message = classifyAwsError(err, `read s3://${this.config.bucket}/${key}`).message;
        this.objectFailed(message, 'read_failed');
        this.ctx.logger.warn({ source: this.name, key, err: message }, 'cannot read an S3 object; going on with the next ones, and trying it again at the next poll');
        return true;
      }
    }
    if (this.config.deleteAfterRead) await this.reader.delete({ bucket: this.config.bucket, key }, signal);
    return true;
  }

  /** Reported once per object version and run: it is listed again at every poll. */
  private skipTooLarge(key: string, etag: string, size: number): void {
    if (this.skippedTooLarge.get(key) === etag) return;
    this.skippedTooLarge.set(key, etag);
    const message = `s3://${this.config.bucket}/${key}: ${size} bytes, over maxObjectBytes (${this.config.maxObjectBytes}); skipped, not read`;
    this.objectFailed(message, 'object_too_large');
    this.ctx.logger.warn({ source: this.name, key, size, maxObjectBytes: this.config.maxObjectBytes }, 'S3 object over maxObjectBytes skipped; it is left in the bucket, unread');
  }

  private objectFailed(message: string, type: string): void {
    this.lastError = { message, at: new Date().toISOString() };
    this.ctx.component.error(type, 'receiving');
  }

  /** Publishes one object's events; true once all were acknowledged and the object is recorded as completed. */
  private async readObject(obj: _Object, key: string, etag: string, publisher: Publisher, signal: AbortSignal): Promise<boolean> {
    const { bucket } = this.config;
    const outcome = await this.reader.read(
      {
        bucket,
        key,
        ifMatch: obj.ETag,
        lastModified: obj.LastModified,
        read: {
          decode: this.config.decode,
          parse: this.config.parse,
          vpcFlowFormat: this.config.vpcFlowFormat,
          origin: { bucket, key },
          idHint: `s3://${bucket}/${key}#${etag}`,
          keepUnparsed: this.config.keepUnparsed,
        },
        alreadyAcked: this.state.acked(key, etag),
        saveProgress: (acked, done) => (done ? this.state.complete(key, etag) : this.state.savePartial(key, etag, acked)),
      },
      publisher,
      signal,
    );
    if (!outcome.ok) {
      if (outcome.retryAfterMs !== undefined) this.waitMs = outcome.retryAfterMs;
      return false;
    }
    this.lastReadKey = key;
    return true;
  }
}


export const s3SourceDefinition: SourceDefinition<S3SourceConfig> = {
  type: 's3',
  schema: s3SourceSchema,
  create: (name, config, ctx) => new S3Source(name, config, ctx),
};
