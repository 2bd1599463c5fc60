import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { awsHttpStatus, classifyAwsError } from '../../aws/errors.js';
import { createS3Client } from '../../aws/s3-client.js';
import { encodeEvent } from '../../codecs/codec.js';
import type { AuditEvent } from '../../core/event.js';
import { errorMessage } from '../../core/errors.js';
import type { CheckStep, DeliveryOutcome, Sink, SinkContext, SinkDefinition } from '../sink.js';
import { s3SinkSchema, type S3SinkConfig } from './config.js';
import { renderObjectKey } from './object-key.js';

const gzip = promisify(gzipCb);
const MiB = 1024 * 1024;
/** S3's minimum part is 5 MiB; 8 MiB parts keep a 64 MiB object at 8 parts. */
const PART_SIZE = 8 * MiB;
/** Above one part, a multipart upload retries a failed part instead of the whole object. */
const MULTIPART_THRESHOLD = PART_SIZE;
/** The emitter runtime cuts batches by bytes and linger time; the event count is not a limit for S3. */
const MAX_EVENTS = 1_000_000;

/**
 * Archives events to S3: one object per batch, one event per line, gzip by
 * default. The runtime hands over a batch when it is maxObjectBytes big or its
 * oldest event has waited rollEverySec, and removes the events from the durable
 * queue only after `send` resolved, i.e. after S3 confirmed the object
 * (docs/failure-modes.md, rows 5 and 8).
 */
export class S3Sink implements Sink {
  readonly batch;
  private readonly client: S3Client;
  private readonly ext: string;

  constructor(
    private readonly config: S3SinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.batch = { maxEvents: MAX_EVENTS, maxBytes: config.maxObjectBytes, lingerMs: config.rollEverySec * 1000 };
    this.client = createS3Client(config);
    this.ext = (config.codec === 'raw' ? '.log' : '.jsonl') + (config.compression === 'gzip' ? '.gz' : '');
  }

  async send(batch: readonly AuditEvent[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    const written: AuditEvent[] = [];
    const lines: string[] = [];
    for (const event of batch) {
      const line = this.encode(event);
      if (typeof line === 'string') {
        written.push(event);
        lines.push(line);
        outcomes.push({ status: 'delivered' });
      } else {
        outcomes.push(line);
      }
    }
    if (written.length === 0) return outcomes;

    const plain = Buffer.from(lines.join(''), 'utf8');
    const body = this.config.compression === 'gzip' ? await gzip(plain) : plain;
    const key = renderObjectKey(this.config.keyTemplate, { prefix: this.config.prefix, emitter: this.ctx.emitterName, ext: this.ext }, written);
    const params = { Bucket: this.config.bucket, Key: key, Body: body, ContentType: this.contentType() };
    try {
      if (body.length <= MULTIPART_THRESHOLD) {
        await this.client.send(new PutObjectCommand(params), { abortSignal: signal });
      } else {
        await this.multipart(params, signal);
      }
    } catch (err) {
      throw classifyAwsError(err, `upload s3://${this.config.bucket}/${key}`);
    }
    this.ctx.logger.debug({ emitter: this.ctx.emitterName, key, events: written.length, bytes: body.length }, 'S3 object written');
    return outcomes;
  }

  private async multipart(params: { Bucket: string; Key: string; Body: Buffer; ContentType: string }, signal: AbortSignal): Promise<void> {
    const abortController = new AbortController();
    const onAbort = () => abortController.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // leavePartsOnError false: a failed upload is aborted so no orphaned parts accrue storage cost.
      await new Upload({ client: this.client, params, partSize: PART_SIZE, queueSize: 4, leavePartsOnError: false, abortController }).done();
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private encode(event: AuditEvent): string | DeliveryOutcome {
    const line = encodeEvent(event, this.config.codec);
    // JSON never holds a raw line break; a producer's record may, and would split into two "records" for every line-based reader.
    if (this.config.codec === 'raw' && /[\r\n]/.test(line)) {
      return { status: 'rejected', reason: 'codec raw: the original record contains a line break; use codec json or ocsf for multi-line records' };
    }
    return `${line}\n`;
  }

  private contentType(): string {
    if (this.config.compression === 'gzip') return 'application/gzip';
    return this.config.codec === 'raw' ? 'text/plain; charset=utf-8' : 'application/x-ndjson';
  }

  async check(signal: AbortSignal): Promise<CheckStep[]> {
    const { bucket } = this.config;
    const steps: CheckStep[] = [];
    if (this.config.roleArn) {
      try {
        await this.client.config.credentials({ forceRefresh: true });
        steps.push({ step: `assume role ${this.config.roleArn}`, ok: true, detail: '' });
      } catch (err) {
        steps.push({ step: `assume role ${this.config.roleArn}`, ok: false, detail: `sts:AssumeRole failed (check the role's trust policy and externalId): ${errorMessage(err)}` });
        return steps;
      }
    }

    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
      steps.push({ step: `find bucket ${bucket}`, ok: true, detail: '' });
    } catch (err) {
      steps.push({ step: `find bucket ${bucket}`, ok: false, detail: headBucketProblem(bucket, err) });
      return steps;
    }

    const probeKey = `${this.config.prefix}/.auditstream-check`.replace(/\/{2,}/g, '/').replace(/^\//, '');
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: probeKey, Body: '' }), { abortSignal: signal });
      steps.push({ step: `write s3://${bucket}/${probeKey}`, ok: true, detail: '' });
    } catch (err) {
      const e = classifyAwsError(err, 'PutObject');
      const denied = /AccessDenied|403/.test(e.message);
      steps.push({
        step: `write s3://${bucket}/${probeKey}`,
        ok: false,
        detail: denied ? `s3:PutObject is not granted on arn:aws:s3:::${bucket}/${probeKey}` : e.message,
      });
      return steps;
    }

    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probeKey }), { abortSignal: signal });
      steps.push({ step: `delete s3://${bucket}/${probeKey}`, ok: true, detail: '' });
    } catch (err) {
      // Emitting needs only PutObject; a least-privilege role is not a failed check.
      steps.push({
        step: `delete s3://${bucket}/${probeKey}`,
        ok: true,
        detail: `the empty probe object stays (s3:DeleteObject not granted; emitting does not need it): ${errorMessage(err)}`,
      });
    }
    return steps;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function headBucketProblem(bucket: string, err: unknown): string {
  // HeadBucket errors carry no body: the status code is all S3 says.
  const status = awsHttpStatus(err);
  if (status === 404) return `bucket "${bucket}" does not exist`;
  if (status === 403) return `access denied to bucket "${bucket}": s3:ListBucket is not granted on arn:aws:s3:::${bucket}, or the credentials are invalid`;
  if (status === 301) return `bucket "${bucket}" is in another region than the configured one`;
  return classifyAwsError(err, `HeadBucket ${bucket}`).message;
}


export const s3SinkDefinition: SinkDefinition<S3SinkConfig> = {
  type: 's3',
  schema: s3SinkSchema,
  create: (config, ctx) => new S3Sink(config, ctx),
};
