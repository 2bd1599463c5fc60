import { describe } from '../../core/describe.js';
import { FirehoseRequestMalformedError, FirehoseRequestTooLargeError } from './errors.js';

/** One Firehose HTTP endpoint delivery: `{requestId, timestamp, records: [{data}]}` with `data` base64. */
export interface FirehoseDelivery {
  requestId: string;
  /** When Firehose sent it, epoch ms. */
  timestampMs: number;
  /** Each record's `data`, still base64. */
  records: string[];
}

/** Strict base64 (with padding), as Firehose writes it; Buffer.from would silently skip anything else. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isBase64(data: string): boolean {
  return BASE64.test(data);
}

/**
 * Reads the body of a delivery. The X-Amz-Firehose-Request-Id header and the
 * body's `requestId` are the same by the protocol; when both are present and
 * differ, the request is refused rather than answered with the wrong one.
 */
export function readDelivery(body: Buffer, headerRequestId: string | undefined, maxRecords: number): FirehoseDelivery {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new FirehoseRequestMalformedError(`the body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new FirehoseRequestMalformedError(`the body must be a JSON object {requestId, timestamp, records}, got ${describe(value)}`);
  const requestId = value.requestId;
  if (typeof requestId !== 'string' || requestId === '') throw new FirehoseRequestMalformedError(`requestId: expected a non-empty string, got ${describe(requestId)}`);
  if (headerRequestId !== undefined && headerRequestId !== requestId) {
    throw new FirehoseRequestMalformedError(`requestId: the body says "${requestId.slice(0, 100)}", the X-Amz-Firehose-Request-Id header "${headerRequestId.slice(0, 100)}"`);
  }
  const timestamp = value.timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) throw new FirehoseRequestMalformedError(`timestamp: expected epoch milliseconds, got ${describe(timestamp)}`);
  const records = value.records;
  if (!Array.isArray(records)) throw new FirehoseRequestMalformedError(`records: expected an array, got ${describe(records)}`);
  if (records.length > maxRecords) {
    throw new FirehoseRequestTooLargeError(`the request holds ${records.length} records, over maxRecordsPerRequest (${maxRecords}); lower the Firehose stream's buffer size`);
  }
  const data: string[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r: unknown = records[i];
    if (!isObject(r) || typeof r.data !== 'string') throw new FirehoseRequestMalformedError(`records[${i}].data: expected a base64 string, got ${describe(isObject(r) ? r.data : r)}`);
    data[i] = r.data;
  }
  return { requestId, timestampMs: timestamp, records: data };
}
