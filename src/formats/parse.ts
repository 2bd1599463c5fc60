import type { AuditEvent } from '../core/event.js';
import { InvalidEventError, errorMessage } from '../core/errors.js';
import { blitzParser } from './blitz.js';
import { cloudtrailFileRecords, cloudtrailParser } from './cloudtrail.js';
import { describe } from './fields.js';
import { foxpassParser } from './foxpass.js';
import { genericParser } from './generic.js';
import type { Parser, ParserName, RecordInput } from './parser.js';
import { childHint } from './record-id.js';
import { temporalParser } from './temporal.js';
import { vpcFlowParser } from './vpc-flow.js';

export type ParseMode = 'auto' | ParserName;

/**
 * Detection order for `parse: auto`: the formats with the most specific
 * field sets first, generic (any object) last.
 */
const DETECT_ORDER: readonly Parser[] = [foxpassParser, temporalParser, cloudtrailParser, blitzParser, vpcFlowParser, genericParser];
const BY_NAME: ReadonlyMap<string, Parser> = new Map(DETECT_ORDER.map((p) => [p.name, p]));

export interface RecordFailure {
  /** The part that failed: the record, or one element of a CloudTrail log file. */
  input: RecordInput;
  error: InvalidEventError;
}

export interface SettledParse {
  events: AuditEvent[];
  failures: RecordFailure[];
}

/**
 * Parses one record into canonical events (a CloudTrail log file yields one
 * per element). Throws InvalidEventError, naming the field, when any part
 * cannot be read — the HTTP ingest contract.
 */
export function parseRecord(input: RecordInput, parser: ParseMode): AuditEvent[] {
  const { events, failures } = parseRecordSettled(input, parser);
  if (failures.length > 0) throw failures[0]!.error;
  return events;
}

/**
 * Like parseRecord, but reports failures instead of throwing, so that one bad
 * element of a CloudTrail log file does not cost the others (collector mode).
 */
export function parseRecordSettled(input: RecordInput, parser: ParseMode): SettledParse {
  let value: unknown;
  let chosen: Parser;
  try {
    value = valueOf(input);
    chosen = parser === 'auto' ? detect(value, input.text) : parserNamed(parser);
  } catch (err) {
    return { events: [], failures: [{ input, error: asInvalid(err) }] };
  }
  const elements = chosen === cloudtrailParser ? cloudtrailFileRecords(value) : undefined;
  if (elements === undefined) {
    try {
      return { events: chosen.parse(input, value), failures: [] };
    } catch (err) {
      return { events: [], failures: [{ input, error: asInvalid(err) }] };
    }
  }
  const settled: SettledParse = { events: [], failures: [] };
  for (let i = 0; i < elements.length; i++) {
    const el = elements[i];
    // A file's element has no text of its own: its JSON is re-serialised, key order kept.
    const part: RecordInput = { text: JSON.stringify(el), value: el, idHint: childHint(input.idHint, i) };
    if (input.origin !== undefined) part.origin = input.origin;
    if (input.timestampMs !== undefined) part.timestampMs = input.timestampMs;
    try {
      settled.events.push(...chosen.parse(part, el));
    } catch (err) {
      settled.failures.push({ input: part, error: new InvalidEventError(`Records[${i}]: ${asInvalid(err).message}`) });
    }
  }
  return settled;
}

function parserNamed(name: string): Parser {
  const p = BY_NAME.get(name);
  if (p === undefined) throw new InvalidEventError(`parse: unknown parser "${name}" (known: auto, ${[...BY_NAME.keys()].join(', ')})`);
  return p;
}

function detect(value: unknown, text: string): Parser {
  for (const p of DETECT_ORDER) if (p.detect(value, text)) return p;
  if (value === undefined) throw new InvalidEventError('record: neither JSON nor a known text format (VPC flow log line, Blitz logback line)');
  throw new InvalidEventError(`record: expected a JSON object, got ${describe(value)}`);
}

/** The record's JSON when it is JSON; text formats (VPC lines, logback lines) give undefined. */
function valueOf(input: RecordInput): unknown {
  if (input.value !== undefined) return input.value;
  const text = input.text;
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  const c = text.charCodeAt(i);
  if (c !== 123 /* { */ && c !== 91 /* [ */) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidEventError(`record: not valid JSON: ${errorMessage(err)}`);
  }
}

function asInvalid(err: unknown): InvalidEventError {
  if (err instanceof InvalidEventError) return err;
  // Parsers only throw InvalidEventError on purpose; anything else is a bug worth surfacing.
  throw err;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff;
}
