import type { AuditEvent } from '../core/event.js';
import { DEFAULT_EVENT_TIME_BOUNDS, type EventTimeBounds } from '../core/time.js';
import type { OcsfMapping } from './ocsf-shared/ocsf-mapping.js';
import { DEFAULT_MAX_DEPTH } from './parse-helpers/depth.js';
import type { VpcFlowLayout } from './vpc-flow/log-format.js';

/** One record as a decoder hands it over. */
export interface RecordInput {
  /** The record's text exactly as received; becomes `raw`. */
  text: string;
  /** The already-parsed JSON of `text`, when the decoder parsed it (after measuring its depth), so nobody parses twice. */
  value?: unknown;
  /** Where the record came from inside the transport (log group, shard, object key …). */
  origin?: Record<string, string>;
  /** The transport's time for the record (CloudWatch log event timestamp, arrival), epoch ms. */
  timestampMs?: number;
  /** Deterministic id to use when the record carries no id of its own (see parse-helpers/record-id.ts). */
  idHint?: string;
}

/** What every parser is held to, from the configuration; the same on every path (HTTP ingest, each source). */
export interface ParseContext {
  /** The window event times must fall in (`audit.eventTime`). */
  eventTime: EventTimeBounds;
  /** The fields of VPC flow log lines (the source's `vpcFlowFormat`, or an S3 object's header line); the default format when absent. */
  vpcFlow?: VpcFlowLayout;
  /** Nesting a record may have (`server.limits.maxDepth`): a deeper record is refused before anything parses it. */
  maxDepth: number;
}

export const DEFAULT_PARSE_CONTEXT: ParseContext = { eventTime: DEFAULT_EVENT_TIME_BOUNDS, maxDepth: DEFAULT_MAX_DEPTH };

/** The event types a source's events carry, so that `include` / `exclude` entries naming them are accepted. */
export interface EventTypeCatalog {
  /** The closed list of types, each with what it means. */
  readonly types?: Readonly<Record<string, string>>;
  /** A prefix under which any name is a type, because the producer's operation names are an open list (`temporal.`). */
  readonly openNamespace?: string;
}

/** A value of an event's `source`: its name, the types its events carry and how the `ocsf` codec maps them. */
export interface EventSource {
  readonly name: string;
  readonly eventTypes: EventTypeCatalog;
  /** Absent: the OCSF defaults (Base Event unless another source maps the type). */
  readonly ocsf?: OcsfMapping;
}

/** One producer's format: how `parse: auto` recognises its records and how they become events. */
export interface ProducerFormat<Name extends string = string> extends EventSource {
  /** What `parse:` names it by; also the `source` of the events it produces. */
  readonly name: Name;
  /**
   * Whether the record looks like this format, for `parse: auto`. `value` is the
   * parsed JSON, or undefined when the text is not JSON.
   */
  detect(value: unknown, text: string, ctx: ParseContext): boolean;
  /** Throws InvalidEventError naming the field when the record cannot be read. */
  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[];
  /**
   * When `value` is a file of several records of this format (a CloudTrail log
   * file's `Records`): the field holding them and the records, each parsed on
   * its own so that one bad element does not cost the rest.
   */
  split?(value: unknown): { field: string; records: readonly unknown[] } | undefined;
}
