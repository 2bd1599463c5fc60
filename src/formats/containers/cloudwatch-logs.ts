import { InvalidEventError } from '../../core/errors.js';
import { describe, isObject } from '../parse-helpers/fields.js';
import type { RecordInput } from '../producer-format.js';
import { splitLines } from './ndjson.js';

/**
 * CloudWatch Logs subscription payloads: the Kinesis record's data
 * is gzip'd JSON {owner, logGroup, logStream, subscriptionFilters,
 * messageType, logEvents:[{id, timestamp, message}]}. Decompression happens in
 * read-record.ts; this reads the parsed envelope.
 */

/**
 * CloudWatch Logs' own bound on a log group or log stream name (an owner is a
 * 12-digit account id). Each is copied onto the origin of every log event of
 * the envelope, so a longer one is refused: a 100 KB logGroup gzip'd into a
 * 4 KB Firehose request with 1,000 log events put 96 MB in the journal.
 */
export const MAX_ORIGIN_NAME_CHARS = 512;

export function isCloudWatchEnvelope(value: unknown): boolean {
  return isObject(value) && (typeof value.messageType === 'string' || Array.isArray(value.logEvents));
}

export interface CloudWatchRecords {
  /** A CONTROL_MESSAGE (CloudWatch checking the destination is reachable): carries no log data. */
  control: boolean;
  /** One per log event: text = message, origin = log group/stream/owner, the event's time and id. */
  records: RecordInput[];
}

export function decodeCloudWatchLogs(value: unknown, origin?: Record<string, string>): CloudWatchRecords {
  if (!isObject(value)) throw new InvalidEventError(`record: expected a CloudWatch Logs JSON object, got ${describe(value)}`);
  if (value.messageType === 'CONTROL_MESSAGE') return { control: true, records: [] };
  if (value.messageType !== 'DATA_MESSAGE') {
    throw new InvalidEventError(`messageType: expected DATA_MESSAGE or CONTROL_MESSAGE, got ${describe(value.messageType)}`);
  }
  const logEvents = value.logEvents;
  if (!Array.isArray(logEvents)) throw new InvalidEventError(`logEvents: expected an array, got ${describe(logEvents)}`);
  const where: Record<string, string> = { ...origin };
  for (const key of ['logGroup', 'logStream', 'owner'] as const) {
    const v = value[key];
    if (typeof v !== 'string' || v === '') continue;
    if (v.length > MAX_ORIGIN_NAME_CHARS) {
      throw new InvalidEventError(`${key}: ${v.length} characters, over the ${MAX_ORIGIN_NAME_CHARS} CloudWatch Logs allows (each log event would carry a copy)`);
    }
    where[key] = v;
  }
  const records: RecordInput[] = new Array(logEvents.length);
  for (let i = 0; i < logEvents.length; i++) {
    const e: unknown = logEvents[i];
    if (!isObject(e)) throw new InvalidEventError(`logEvents[${i}]: expected an object, got ${describe(e)}`);
    if (typeof e.message !== 'string') throw new InvalidEventError(`logEvents[${i}].message: expected a string, got ${describe(e.message)}`);
    if (typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp)) {
      throw new InvalidEventError(`logEvents[${i}].timestamp: expected epoch milliseconds, got ${describe(e.timestamp)}`);
    }
    const record: RecordInput = { text: e.message, origin: where, timestampMs: e.timestamp };
    // CloudWatch gives every log event a unique id: the natural dedupe key for a replay.
    if (typeof e.id === 'string' && e.id !== '') record.idHint = e.id;
    records[i] = record;
  }
  return { control: false, records };
}

export interface ExportLine {
  /** 1-based line number of the log event's first line. */
  line: number;
  text: string;
  timestampMs?: number;
}

/**
 * A CloudWatch Logs export file (CreateExportTask to S3, as export-reading
 * collectors use): lines "2021-04-27T08:40:50.000Z <message>". A line without the
 * timestamp continues the previous message, which had a newline in it.
 */
export function decodeCloudWatchExport(text: string): ExportLine[] {
  const out: ExportLine[] = [];
  for (const l of splitLines(text)) {
    const ms = leadingTimestamp(l.text);
    const prev = out[out.length - 1];
    if (ms === undefined && prev !== undefined) {
      prev.text += `\n${l.text}`;
    } else if (ms === undefined) {
      out.push({ line: l.line, text: l.text });
    } else {
      out.push({ line: l.line, text: l.text.slice(l.text.indexOf(' ') + 1), timestampMs: ms });
    }
  }
  return out;
}

/** Epoch ms of a leading "YYYY-MM-DDTHH:MM:SS(.sss)Z " token, checked by shape before Date.parse. */
function leadingTimestamp(line: string): number | undefined {
  const sp = line.indexOf(' ');
  if (sp < 20 || line.charCodeAt(sp - 1) !== 90 /* Z */ || line.charCodeAt(10) !== 84 /* T */ || line.charCodeAt(4) !== 45 /* - */) return undefined;
  const ms = Date.parse(line.slice(0, sp));
  return Number.isNaN(ms) ? undefined : ms;
}
