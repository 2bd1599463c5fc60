import type { ErrorStage } from '../../core/component-metrics.js';
import { AuditstreamError } from '../../core/errors.js';
import type { RejectionList } from './rejections.js';

/**
 * A request the http source did not acknowledge: none of its events count as
 * accepted. `retriable` tells a producer whether sending the same body again
 * can succeed; the server turns each class into its `{error, code}` answer.
 */
export abstract class IngestRefusedError extends AuditstreamError {
  /** component_errors_total{stage}. */
  abstract readonly stage: ErrorStage;

  /** component_errors_total{error_type}: the code in the metrics' snake case. */
  get errorType(): string {
    return this.code.toLowerCase();
  }
}

/** Sending the same body again cannot help: the body itself is wrong. */
abstract class BodyRefusedError extends IngestRefusedError {
  readonly retriable = false;
  readonly stage = 'processing';
}

export class BodyEmptyError extends BodyRefusedError {
  readonly code = 'BODY_EMPTY';
  constructor() {
    super('the request body is empty; send a JSON object, an array, or NDJSON');
  }
}

/** A JSON body (not NDJSON) that does not parse, or is not an object or array: the whole request's fault. */
export class BodyMalformedError extends BodyRefusedError {
  readonly code = 'BODY_MALFORMED';
}

/** More records or events than `server.limits.maxEventsPerRequest`: refused whole, nothing accepted. */
export class TooManyEventsError extends BodyRefusedError {
  readonly code = 'TOO_MANY_EVENTS';
  constructor(readonly max: number) {
    super(`the body holds more than ${max} events, over server.limits.maxEventsPerRequest (${max}); send them in several requests`);
  }
}

/** Every record was rejected, or there were none; `rejections` says why, by index. */
export class NoValidEventsError extends BodyRefusedError {
  readonly code = 'NO_VALID_EVENTS';
  constructor(readonly rejections: RejectionList) {
    super(rejections.rejectedTotal > 0 ? 'no event in the body could be accepted' : 'the body holds no events');
  }
}

/** `?format=` names no text format, or comes with a body that is not text/plain. */
export class FormatInvalidError extends IngestRefusedError {
  readonly code = 'FORMAT_INVALID';
  readonly retriable = false;
  readonly stage = 'receiving';
}

/** A text/plain body in a charset other than UTF-8: read as UTF-8 it would be stored garbled, so it is refused whole. */
export class UnsupportedCharsetError extends IngestRefusedError {
  readonly code = 'UNSUPPORTED_CHARSET';
  readonly retriable = false;
  readonly stage = 'receiving';
  constructor(readonly charset: string) {
    super(`Content-Type: text/plain; charset=${charset} is not supported; send the lines as UTF-8 (charset=utf-8, or no charset)`);
  }
}

/**
 * The bodies being parsed and published already fill `server.limits.maxIngestBytesInFlight`:
 * refused before parsing, so a burst of large requests cannot hold more parsed events in memory than that.
 */
export class IngestBusyError extends IngestRefusedError {
  readonly code = 'INGEST_BUSY';
  readonly retriable = true;
  readonly stage = 'receiving';
  /** One second: a request is parsed and journaled in milliseconds, so room comes back soon. */
  readonly retryAfterSec = 1;
  constructor(readonly maxBytes: number) {
    super(`the server is parsing ${maxBytes} bytes of other requests already (server.limits.maxIngestBytesInFlight); nothing was accepted, retry after Retry-After seconds`);
  }
}

/** The events were read but the delivery policy did not hold; the same request may succeed later. */
abstract class NotAcknowledgedError extends IngestRefusedError {
  readonly retriable = true;
  readonly stage = 'sending';
  constructor(
    message: string,
    /** The emitters that did not take the events, with why. */
    readonly failed: { emitter: string; reason: string }[],
    /** Records of the body refused on their own, as a 202 would have listed them. */
    readonly rejections: RejectionList,
  ) {
    super(message);
  }
}

/** A required emitter's queue is full (`queue.whenFull: block`). */
export class QueueFullError extends NotAcknowledgedError {
  readonly code = 'QUEUE_FULL';
  constructor(
    failed: { emitter: string; reason: string }[],
    rejections: RejectionList,
    /** The router's estimate of when there is room again. */
    readonly retryAfterSec: number,
  ) {
    const names = failed.map((f) => f.emitter).join(', ');
    super(
      `queue full for emitter(s) ${names}: the request is not acknowledged, retry it later (other emitters may already hold these events; their ids make the retry recognisable)`,
      failed,
      rejections,
    );
  }
}

/** The delivery policy did not hold for another reason: a required emitter failed or timed out. */
export class DeliveryFailedError extends NotAcknowledgedError {
  readonly code = 'DELIVERY_FAILED';
  constructor(failed: { emitter: string; reason: string }[], rejections: RejectionList) {
    super(`delivery policy not met: emitter(s) ${failed.map((f) => f.emitter).join(', ')} did not confirm`, failed, rejections);
  }
}

/** The source is stopping (the server shuts down): another instance, or this one later, takes the request. */
export class SourceStoppingError extends IngestRefusedError {
  readonly code = 'STOPPING';
  readonly retriable = true;
  readonly stage = 'receiving';
  constructor() {
    super('the server is shutting down; retry against another instance or later');
  }
}

/** A tenant sent more events than its ingest quota lets through now; nothing of the request was taken from the quota. */
export class TenantQuotaExceededError extends IngestRefusedError {
  readonly code = 'TENANT_QUOTA_EXCEEDED';
  readonly retriable = true;
  readonly stage = 'receiving';
  constructor(
    readonly tenant: string,
    /** The quota that refused: `ingestEventsPerSec` (wait Retry-After), or `ingestBurst` (the request alone is larger than the bucket: send fewer events at once). */
    readonly quota: string,
    readonly retryAfterSec: number,
  ) {
    super(
      quota === 'ingestBurst'
        ? `tenant "${tenant}": the request holds more events than its ingestBurst quota; send fewer events per request`
        : `tenant "${tenant}" is over its ingestEventsPerSec quota; retry after ${retryAfterSec} s`,
    );
  }
}
