import type { AuditEvent } from '../core/event.js';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds } from '../core/time.js';

/** The formats `parse:` can name; each is also the `source` of the events it produces. */
export const PARSER_NAMES = ['auditstream', 'foxpass', 'blitz', 'temporal', 'cloudtrail', 'vpc-flow', 'generic'] as const;
export type ParserName = (typeof PARSER_NAMES)[number];

/** One record as a decoder hands it over. */
export interface RecordInput {
  /** The record's text exactly as received; becomes `raw`. */
  text: string;
  /** The already-parsed JSON of `text`, when the decoder parsed it, so nobody parses twice. */
  value?: unknown;
  /** Where the record came from inside the transport (log group, shard, object key …). */
  origin?: Record<string, string>;
  /** The transport's time for the record (CloudWatch log event timestamp, arrival), epoch ms. */
  timestampMs?: number;
  /** Deterministic id to use when the record carries no id of its own (see record-id.ts). */
  idHint?: string;
}

/** What every parser is held to, from the configuration; the same on every path (HTTP ingest, each source). */
export interface ParseContext {
  /** The window event times must fall in (`audit.eventTime`). */
  eventTime: EventTimeBounds;
}

export const DEFAULT_PARSE_CONTEXT: ParseContext = { eventTime: DEFAULT_EVENT_TIME_BOUNDS };

export interface Parser {
  readonly name: ParserName;
  /**
   * Whether the record looks like this format, for `parse: auto`. `value` is the
   * parsed JSON, or undefined when the text is not JSON.
   */
  detect(value: unknown, text: string): boolean;
  /** Throws InvalidEventError naming the field when the record cannot be read. */
  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[];
}
