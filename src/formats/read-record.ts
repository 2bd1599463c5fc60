import { gunzipSync } from 'node:zlib';
import type { AuditEvent } from '../core/event.js';
import { InvalidEventError, errorMessage } from '../core/errors.js';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds } from '../core/time.js';
import { decodeCloudWatchExport, decodeCloudWatchLogs, isCloudWatchEnvelope, type CloudWatchRecords } from './containers/cloudwatch-logs.js';
import { decodeNdjson, splitLines, type DecodedLine, type Line } from './containers/ndjson.js';
import { parseRecordSettled, TooManyPartsError, type ParseMode } from './parse.js';
import type { ParseContext, RecordInput } from './producer-format.js';
import { DEFAULT_MAX_DEPTH, jsonDepth, tooDeepReason } from './parse-helpers/depth.js';
import { childHint } from './parse-helpers/record-id.js';
import { unparsedEvent } from './containers/unparsed.js';
import { vpcFlowHeader, vpcFlowLayout } from './vpc-flow/log-format.js';

export const DECODE_MODES = ['auto', 'ndjson', 'cloudwatch-logs', 'cloudwatch-logs-export', 'text'] as const;
export type DecodeMode = (typeof DECODE_MODES)[number];

export interface ReadOptions {
  decode: DecodeMode;
  parse: ParseMode;
  /** Where the data came from (stream, shard, bucket/key …); copied onto every event. */
  origin?: Record<string, string>;
  /** Deterministic id base for records without their own id (e.g. shard + sequence number). */
  idHint?: string;
  /** The transport's time for the data (Kinesis arrival, S3 LastModified), epoch ms; used for unparsed events. */
  timestampMs?: number;
  /** Collector mode: keep records no parser accepts as `unparsed` / `cloudwatch.log` events instead of reporting errors. */
  keepUnparsed?: boolean;
  /** The window event times must fall in (`audit.eventTime`); the default config's when absent. */
  eventTime?: EventTimeBounds;
  /** The format string of VPC flow log lines (AWS's LogFormat, `${version} ${srcaddr} …`); the default format when absent. */
  vpcFlowFormat?: string | undefined;
  /** Nesting a record may have (`server.limits.maxDepth`); deeper records are rejected unparsed. DEFAULT_MAX_DEPTH when absent. */
  maxDepth?: number;
  /** The most bytes gzip'd data may inflate to (a small record can hold gigabytes of zeros); DEFAULT_MAX_DECODED_BYTES when absent. */
  maxDecodedBytes?: number;
  /**
   * The most events (unparsed ones and rejected records included) the data may
   * yield: more throws TooManyPartsError as soon as the lines, log events or a
   * record's elements are counted, before they are parsed. Unbounded when absent.
   */
  maxEvents?: number;
}

/**
 * Larger than any transport unit's honest content (a Kinesis record is at most
 * 10 MiB, a CloudTrail log file tens of MiB), small enough that one gzip bomb
 * cannot exhaust the process's memory.
 */
export const DEFAULT_MAX_DECODED_BYTES = 256 * 1024 * 1024;

export interface ReadError {
  /** 0-based position of the record in the data: line number - 1, or the logEvents index. */
  index: number;
  /** What is wrong, naming the line / log event and the field. */
  error: string;
}

export interface ReadResult {
  events: AuditEvent[];
  /** Records rejected (only without keepUnparsed; with it they are among `events`). */
  errors: ReadError[];
  /** CloudWatch Logs CONTROL_MESSAGE envelopes: expected, carry no log data. */
  skipped: number;
  /** Events of type unparsed / cloudwatch.log among `events`. */
  unparsed: number;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/**
 * Turns one transport unit (a Kinesis record's data after KPL deaggregation,
 * a Kafka message, an S3 object) into canonical events. gzip is undone first
 * whatever the mode. `decode: auto` picks CloudWatch Logs for an envelope,
 * NDJSON for JSON, text lines otherwise.
 */
export function readRecord(data: Uint8Array, opts: ReadOptions): ReadResult {
  const reader = new Reader(opts);
  let buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length >= 2 && buf[0] === GZIP_MAGIC_0 && buf[1] === GZIP_MAGIC_1) {
    const maxDecodedBytes = opts.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
    try {
      buf = gunzipSync(buf, { maxOutputLength: maxDecodedBytes });
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
        reader.reject(0, reader.input(buf.toString('base64'), opts.idHint), `data: inflates to more than ${maxDecodedBytes} bytes; raw holds the gzip data base64-encoded`, false);
        return reader.result;
      }
      // Not valid UTF-8 text: raw keeps the bytes as base64 so nothing is lost.
      reader.reject(0, reader.input(buf.toString('base64'), opts.idHint), `data: corrupt gzip (${errorMessage(err)}); raw holds the data base64-encoded`, false);
      return reader.result;
    }
  }
  const text = buf.toString('utf8');
  switch (opts.decode) {
    case 'cloudwatch-logs':
      reader.cloudWatch(text, undefined);
      break;
    case 'cloudwatch-logs-export':
      reader.cloudWatchExport(text);
      break;
    case 'ndjson':
      reader.jsonLines(decodeNdjson(text, reader.maxDepth, opts.maxEvents));
      break;
    case 'text':
      reader.textLines(reader.counted(splitLines(text)));
      break;
    case 'auto': {
      if (!startsLikeJson(text)) {
        reader.textLines(reader.counted(splitLines(text)));
        break;
      }
      const lines = decodeNdjson(text, reader.maxDepth, opts.maxEvents);
      const only = lines.length === 1 ? lines[0]! : undefined;
      if (only !== undefined && only.error === undefined && isCloudWatchEnvelope(only.value)) reader.cloudWatch(only.text, only.value);
      else reader.jsonLines(lines);
      break;
    }
  }
  return reader.result;
}

/**
 * readRecord for a collector that cannot refuse its data (a stream's record
 * is read whether or not it is answered): data over `opts.maxEvents` becomes
 * one unparsed event holding the data base64-encoded, as gzip over its bound
 * does, or one error without keepUnparsed. `setting` names the bound for the
 * reason.
 */
export function readRecordWithin(data: Uint8Array, opts: ReadOptions & { maxEvents: number }, setting: string): ReadResult {
  try {
    return readRecord(data, opts);
  } catch (err) {
    if (!(err instanceof TooManyPartsError)) throw err;
    const reader = new Reader(opts);
    const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    reader.reject(0, reader.input(base64, opts.idHint), `data: yields more than ${opts.maxEvents} events, over ${setting}; raw holds the data base64-encoded`, false);
    return reader.result;
  }
}

class Reader {
  readonly result: ReadResult = { events: [], errors: [], skipped: 0, unparsed: 0 };
  private ctx: ParseContext;
  constructor(private readonly opts: ReadOptions) {
    this.ctx = { eventTime: opts.eventTime ?? DEFAULT_EVENT_TIME_BOUNDS, maxDepth: opts.maxDepth ?? DEFAULT_MAX_DEPTH };
    if (opts.vpcFlowFormat !== undefined) this.ctx.vpcFlow = vpcFlowLayout(opts.vpcFlowFormat);
  }

  get maxDepth(): number {
    return this.ctx.maxDepth;
  }

  /** Events the data may still yield (opts.maxEvents less those taken so far); undefined when unbounded. */
  private get room(): number | undefined {
    const max = this.opts.maxEvents;
    return max === undefined ? undefined : max - this.result.events.length - this.result.errors.length;
  }

  /** `parts`, once it is known there is room for that many events. */
  counted<T>(parts: T[]): T[] {
    const room = this.room;
    if (room !== undefined && parts.length > room) throw new TooManyPartsError(this.opts.maxEvents!);
    return parts;
  }

  input(text: string, idHint: string | undefined, value?: unknown): RecordInput {
    const r: RecordInput = { text };
    if (value !== undefined) r.value = value;
    if (this.opts.origin !== undefined) r.origin = this.opts.origin;
    if (this.opts.timestampMs !== undefined) r.timestampMs = this.opts.timestampMs;
    if (idHint !== undefined) r.idHint = idHint;
    return r;
  }

  /** A hint per line only when the data holds several records, so a one-record unit keeps the plain hint. */
  private lineHint(lines: readonly Line[], line: number): string | undefined {
    return lines.length === 1 ? this.opts.idHint : childHint(this.opts.idHint, line);
  }

  jsonLines(lines: DecodedLine[]): void {
    for (const l of lines) {
      const input = this.input(l.text, this.lineHint(lines, l.line), l.value);
      if (l.error !== undefined) this.reject(l.line - 1, input, l.error, false);
      else this.parse(l.line - 1, `line ${l.line}: `, input, false);
    }
  }

  textLines(lines: Line[]): void {
    const first = lines[0];
    const header = first !== undefined && (this.opts.parse === 'auto' || this.opts.parse === 'vpc-flow') ? vpcFlowHeader(first.text) : undefined;
    if (header !== undefined) {
      // Flow logs delivered to S3 name their fields on the first line; it says how the rest of this object reads.
      this.ctx = { ...this.ctx, vpcFlow: header };
      lines = lines.slice(1);
    }
    for (const l of lines) this.parse(l.line - 1, `line ${l.line}: `, this.input(l.text, this.lineHint(lines, l.line)), false);
  }

  cloudWatch(text: string, parsed: unknown): void {
    let decoded: CloudWatchRecords;
    try {
      decoded = decodeCloudWatchLogs(parsed === undefined ? this.parseEnvelope(text) : parsed, this.opts.origin);
    } catch (err) {
      this.reject(0, this.input(text, this.opts.idHint), `CloudWatch Logs data: ${errorMessage(err)}`, true);
      return;
    }
    if (decoded.control) this.result.skipped++;
    this.counted(decoded.records);
    for (let i = 0; i < decoded.records.length; i++) {
      const input = decoded.records[i]!;
      input.idHint ??= childHint(this.opts.idHint, i);
      this.parse(i, `logEvents[${i}]: `, input, true);
    }
  }

  /** Its messages are measured one by one when parsed; the envelope itself is measured here. */
  private parseEnvelope(text: string): unknown {
    const depth = jsonDepth(text);
    if (depth > this.maxDepth) throw new InvalidEventError(tooDeepReason(depth, this.maxDepth));
    return JSON.parse(text);
  }

  cloudWatchExport(text: string): void {
    const lines = this.counted(decodeCloudWatchExport(text));
    for (const l of lines) {
      const input = this.input(l.text, this.lineHint(lines, l.line));
      if (l.timestampMs !== undefined) input.timestampMs = l.timestampMs;
      this.parse(l.line - 1, `line ${l.line}: `, input, true);
    }
  }

  private parse(index: number, where: string, input: RecordInput, fromCloudWatch: boolean): void {
    const { events, failures } = parseRecordSettled(input, this.opts.parse, this.ctx, this.room);
    for (const e of events) this.result.events.push(e);
    for (const f of failures) this.reject(index, f.input, where + f.error.message, fromCloudWatch);
  }

  reject(index: number, input: RecordInput, reason: string, fromCloudWatch: boolean): void {
    if (this.opts.keepUnparsed === true) {
      this.result.events.push(unparsedEvent(input, reason, fromCloudWatch, this.ctx.eventTime));
      this.result.unparsed++;
    } else {
      this.result.errors.push({ index, error: reason });
    }
  }
}

function startsLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff) continue;
    return c === 123 /* { */ || c === 91 /* [ */;
  }
  return false;
}
