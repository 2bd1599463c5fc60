import type { ErrorStage } from '../../core/component-metrics.js';
import { AuditstreamError } from '../../core/errors.js';

/**
 * A Firehose delivery that was not acknowledged. Firehose has no per-record
 * answer: any status but 200 makes it send the whole request again (same
 * request id) until its retry duration runs out, then back the data up to S3.
 * `status` is the HTTP answer; `retriable` says whether the same request can
 * succeed later.
 */
export abstract class FirehoseRefusedError extends AuditstreamError {
  abstract readonly status: number;
  /** component_errors_total{stage}. */
  abstract readonly stage: ErrorStage;

  /** component_errors_total{error_type}. */
  get errorType(): string {
    return this.code.toLowerCase();
  }
}

/** The X-Amz-Firehose-Access-Key header is missing or is none of the source's keys. */
export class FirehoseAccessDeniedError extends FirehoseRefusedError {
  readonly code = 'UNAUTHORIZED';
  readonly retriable = false;
  readonly status = 401;
  readonly stage = 'receiving';
}

/** The body is not a Firehose delivery: not JSON, or a field of the documented shape is missing or of the wrong type. */
export class FirehoseRequestMalformedError extends FirehoseRefusedError {
  readonly code = 'BODY_MALFORMED';
  readonly retriable = false;
  readonly status = 400;
  readonly stage = 'processing';
}

/** More records than `maxRecordsPerRequest`, more decoded data than `maxDecodedBytes`, more events than `maxEventsPerRequest`, or common attributes over `maxCommonAttributesBytes`: refused whole, before anything is published. */
export class FirehoseRequestTooLargeError extends FirehoseRefusedError {
  readonly code = 'TOO_LARGE';
  readonly retriable = false;
  readonly status = 413;
  readonly stage = 'processing';
}

/** The delivery policy did not hold for every event: Firehose sends the request again, and the events' ids make the retry recognisable. */
export class FirehoseNotAcknowledgedError extends FirehoseRefusedError {
  readonly retriable = true;
  readonly stage = 'sending';
  constructor(
    readonly code: 'DELIVERY_FAILED' | 'QUEUE_FULL' | 'PUBLISH_FAILED',
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The server is shutting down: Firehose retries, against this instance later or another one. */
export class FirehoseSourceStoppingError extends FirehoseRefusedError {
  readonly code = 'STOPPING';
  readonly retriable = true;
  readonly status = 503;
  readonly stage = 'receiving';
  constructor() {
    super('the server is shutting down; Firehose will retry the request');
  }
}
