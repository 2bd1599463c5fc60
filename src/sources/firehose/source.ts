import { createHash, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { eventsJsonBytes } from '../../core/component-metrics.js';
import { errorMessage } from '../../core/errors.js';
import type { AuditEvent } from '../../core/event.js';
import { TooManyPartsError } from '../../formats/parse.js';
import { readRecord } from '../../formats/read-record.js';
import { unparsedEvent } from '../../formats/containers/unparsed.js';
import { Pacer } from '../http/pacer.js';
import { ThrottledWarnings } from '../http/throttled-warnings.js';
import type { Publisher, Source, SourceContext, SourceDefinition } from '../source.js';
import { firehoseSourceSchema, type FirehoseSourceConfig } from './config.js';
import { isBase64, readDelivery } from './delivery.js';
import {
  FirehoseAccessDeniedError,
  FirehoseNotAcknowledgedError,
  FirehoseRefusedError,
  FirehoseRequestTooLargeError,
  FirehoseSourceStoppingError,
} from './errors.js';

/** One POST from Firehose as the server hands it over: the body (gzip already undone) and the X-Amz-Firehose-* headers. */
export interface FirehoseRequest {
  body: Buffer | undefined;
  /** X-Amz-Firehose-Request-Id. */
  requestId: string | undefined;
  /** X-Amz-Firehose-Source-Arn: the Firehose stream's ARN. */
  sourceArn: string | undefined;
  /** X-Amz-Firehose-Common-Attributes: `{"commonAttributes": {name: value}}`. */
  commonAttributes: string | undefined;
  /** `http` or `https`, for component_received_bytes_total{protocol}. */
  protocol: string;
}

/** The answer Firehose requires on success: its request id back, and a timestamp. */
export interface FirehoseAccepted {
  requestId: string;
  timestamp: number;
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * The source `firehose`: the receiving end of an Amazon Data Firehose stream
 * whose destination is an HTTP endpoint (so CloudWatch Logs → Firehose →
 * auditstream needs no Kinesis shards to read). The server routes each POST
 * to `path` here. A request is all-or-nothing, as Firehose's protocol is: 200
 * only once the delivery policy holds for every event of every record;
 * otherwise an error status, and Firehose sends the same request again. Event
 * ids come from the request id and record index (or CloudWatch's log event
 * id), so a retry yields the same ids and the stores keep one copy.
 */
export class FirehoseSource implements Source {
  readonly path: string;
  private readonly keyDigests: Buffer[];
  private readonly warnings: ThrottledWarnings;
  private publisher: Publisher | undefined;
  private stopping = false;
  private lastRequest: { requestId: string; at: string; status: number } | undefined;

  constructor(
    readonly name: string,
    private readonly config: FirehoseSourceConfig,
    private readonly ctx: SourceContext,
  ) {
    this.path = config.path ?? `/v1/firehose/${name}`;
    this.keyDigests = Object.values(config.secureParams).map(digest);
    this.warnings = new ThrottledWarnings(ctx.logger);
  }

  /** Where the source stands in the config (`sources[1]`), for errors about its keys found by the server. */
  get configPath(): string {
    return this.ctx.configPath;
  }

  /** The largest body, after gzip is undone, the route reads. */
  get maxBodyBytes(): number {
    return this.config.maxBodyBytes;
  }

  async start(publisher: Publisher): Promise<void> {
    this.publisher = publisher;
  }

  /** Refuses new requests from now on; one already publishing finishes (the server waits for it). */
  async stop(): Promise<void> {
    this.stopping = true;
  }

  status(): Record<string, unknown> {
    return { type: 'firehose', path: this.path, ...(this.lastRequest ? { lastRequest: this.lastRequest } : {}) };
  }

  /**
   * Throws FirehoseAccessDeniedError unless `accessKey` is one of the
   * source's keys. Compared as SHA-256 digests in constant time, against every
   * key, so neither the length nor which key matched shows in the timing.
   */
  checkAccessKey(accessKey: string | undefined): void {
    try {
      if (accessKey === undefined || accessKey === '') throw new FirehoseAccessDeniedError('missing X-Amz-Firehose-Access-Key header: set the access key on the Firehose stream\'s HTTP endpoint destination');
      const d = digest(accessKey);
      let match = false;
      for (const k of this.keyDigests) match = timingSafeEqual(k, d) || match;
      if (!match) throw new FirehoseAccessDeniedError('the X-Amz-Firehose-Access-Key is not one of this source\'s access keys');
    } catch (err) {
      this.count(err);
      throw err;
    }
  }

  async deliver(req: FirehoseRequest): Promise<FirehoseAccepted> {
    try {
      const accepted = await this.read(req);
      this.lastRequest = { requestId: accepted.requestId, at: new Date().toISOString(), status: 200 };
      return accepted;
    } catch (err) {
      if (req.requestId !== undefined) this.lastRequest = { requestId: req.requestId, at: new Date().toISOString(), status: err instanceof FirehoseRefusedError ? err.status : 500 };
      this.count(err, req.requestId);
      throw err;
    }
  }

  private async read(req: FirehoseRequest): Promise<FirehoseAccepted> {
    const { component } = this.ctx;
    if (this.stopping || !this.publisher) throw new FirehoseSourceStoppingError();
    const body = req.body ?? Buffer.alloc(0);
    component.receivedBytes(body.length, req.protocol);
    const delivery = readDelivery(body, req.requestId, this.config.maxRecordsPerRequest);
    const origin: Record<string, string> = { ...commonAttributes(req.commonAttributes, this.config.maxCommonAttributesBytes), firehoseRequestId: delivery.requestId };
    if (req.sourceArn) origin.deliveryStreamArn = req.sourceArn;

    const pacer = new Pacer();
    const events: AuditEvent[] = [];
    let unparsed = 0;
    let decodedBytes = 0;
    for (let i = 0; i < delivery.records.length; i++) {
      if (pacer.due()) await pacer.yield();
      const data = delivery.records[i]!;
      const input = { origin: { ...origin, recordIndex: String(i) }, idHint: `${delivery.requestId}:${i}`, timestampMs: delivery.timestampMs };
      if (!isBase64(data)) {
        // Kept as it came, never dropped: the reason says why it could not be read.
        events.push(unparsedEvent({ ...input, text: data }, `records[${i}].data: not base64`, false, this.ctx.eventTime));
        unparsed++;
        continue;
      }
      const bytes = this.gunzipWithin(Buffer.from(data, 'base64'), this.config.maxDecodedBytes - decodedBytes, i);
      if (typeof bytes === 'string') {
        events.push(unparsedEvent({ ...input, text: data }, bytes, false, this.ctx.eventTime));
        unparsed++;
        continue;
      }
      decodedBytes += bytes.length;
      if (decodedBytes > this.config.maxDecodedBytes) throw decodedTooLarge(this.config.maxDecodedBytes);
      const maxEvents = this.config.maxEventsPerRequest - events.length;
      let out;
      try {
        out = readRecord(bytes, { decode: this.config.decode, parse: this.config.parse, vpcFlowFormat: this.config.vpcFlowFormat, keepUnparsed: true, eventTime: this.ctx.eventTime, maxDepth: this.ctx.maxDepth, maxEvents, ...input });
      } catch (err) {
        if (err instanceof TooManyPartsError) throw tooManyEvents(this.config.maxEventsPerRequest);
        throw err;
      }
      for (const e of out.events) events.push(e);
      unparsed += out.unparsed;
      if (events.length > this.config.maxEventsPerRequest) throw tooManyEvents(this.config.maxEventsPerRequest);
    }
    if (unparsed > 0) component.error('parse_failed', 'processing', unparsed);
    const eventBytes = eventsJsonBytes(events);
    component.received(events.length, eventBytes);
    const answer = { requestId: delivery.requestId, timestamp: Date.now() };
    // No records, or only CloudWatch Logs CONTROL_MESSAGEs: nothing to keep, and nothing Firehose should send again.
    if (events.length === 0) return answer;

    let result;
    try {
      result = await this.publisher.publish(events);
    } catch (err) {
      throw new FirehoseNotAcknowledgedError('PUBLISH_FAILED', `the events could not be queued: ${errorMessage(err)}`, 500);
    }
    if (!result.ok) {
      const failed = result.failed.map((f) => `${f.emitter}: ${f.reason}`).join('; ');
      if (result.retryAfterSec !== undefined) throw new FirehoseNotAcknowledgedError('QUEUE_FULL', `queue full (${failed}); Firehose will retry the request`, 503);
      throw new FirehoseNotAcknowledgedError('DELIVERY_FAILED', `delivery policy not met (${failed}); Firehose will retry the request`, 500);
    }
    component.sent(events.length, eventBytes);
    return { ...answer, timestamp: Date.now() };
  }

  /**
   * The record's bytes with gzip undone (CloudWatch Logs subscriptions gzip
   * every payload), never growing past `budget`; a string says why the record
   * cannot be read. readRecord would undo gzip too, but without a bound.
   */
  private gunzipWithin(buf: Buffer, budget: number, index: number): Buffer | string {
    while (buf.length >= 2 && buf[0] === GZIP_MAGIC[0] && buf[1] === GZIP_MAGIC[1]) {
      try {
        buf = gunzipSync(buf, { maxOutputLength: Math.max(1, budget) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw decodedTooLarge(this.config.maxDecodedBytes);
        return `records[${index}].data: corrupt gzip (${errorMessage(err)}); raw holds the record's base64 as Firehose sent it`;
      }
    }
    return buf;
  }

  /** Every request not acknowledged is an error of this source, by the refusal's code (unauthorized, body_malformed, delivery_failed, …). */
  private count(err: unknown, requestId?: string): void {
    const type = err instanceof FirehoseRefusedError ? err.errorType : 'internal';
    this.ctx.component.error(type, err instanceof FirehoseRefusedError ? err.stage : 'processing');
    this.warnings.note(type, 1, () => ({ fields: { requestId, err: errorMessage(err) }, countField: 'refused', msg: 'Firehose request refused; Firehose retries it' }));
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

function decodedTooLarge(max: number): FirehoseRequestTooLargeError {
  return new FirehoseRequestTooLargeError(`the records' data decodes to more than maxDecodedBytes (${max} bytes); lower the Firehose stream's buffer size`);
}

function tooManyEvents(max: number): FirehoseRequestTooLargeError {
  return new FirehoseRequestTooLargeError(`the records hold more than maxEventsPerRequest (${max}) events; lower the Firehose stream's buffer size`);
}

/**
 * The stream's common attributes (set on the destination), as origin fields
 * `attribute.<name>`. A header that is not the documented shape is ignored:
 * it only labels events and must not cost the delivery. Attributes over `max`
 * bytes are refused rather than dropped or kept once: every event carries
 * them, so the header's size times the request's events is what the journal
 * takes, and a user querying by attribute must find it on every event.
 */
function commonAttributes(header: string | undefined, max: number): Record<string, string> {
  if (!header) return {};
  let attributes: unknown;
  try {
    attributes = (JSON.parse(header) as { commonAttributes?: unknown } | null)?.commonAttributes;
  } catch {
    return {};
  }
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) return {};
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of Object.entries(attributes)) {
    if (typeof v !== 'string') continue;
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    out[`attribute.${k}`] = v;
  }
  if (bytes > max) {
    throw new FirehoseRequestTooLargeError(
      `the X-Amz-Firehose-Common-Attributes names and values total ${bytes} bytes, over maxCommonAttributesBytes (${max} bytes), and every event would carry a copy; shorten the Firehose stream's common attributes (parameters)`,
    );
  }
  return out;
}

export const firehoseSourceDefinition: SourceDefinition<FirehoseSourceConfig> = {
  type: 'firehose',
  schema: firehoseSourceSchema,
  create: (name, config, ctx) => new FirehoseSource(name, config, ctx),
};
