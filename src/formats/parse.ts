import type { AuditEvent } from '../core/event.js';
import { InvalidEventError, errorMessage } from '../core/errors.js';
import { mayHoldUnstorable as mayHoldUnstorableText, unstorableField } from '../core/storable.js';
import { PRODUCER_FORMATS, type ParserName } from './format-registry.js';
import { DEFAULT_PARSE_CONTEXT, type ParseContext, type ProducerFormat, type RecordInput } from './producer-format.js';
import { describe } from './parse-helpers/fields.js';
import { jsonDepth, tooDeepReason } from './parse-helpers/depth.js';
import { childHint } from './parse-helpers/record-id.js';

export type ParseMode = 'auto' | ParserName;

const BY_NAME: ReadonlyMap<string, ProducerFormat> = new Map(PRODUCER_FORMATS.map((f) => [f.name, f]));

export interface RecordFailure {
  /** The part that failed: the record, or one element of a JSON array or CloudTrail log file. */
  input: RecordInput;
  error: InvalidEventError;
}

/**
 * A record splits into more parts (elements of a JSON array, of a CloudTrail
 * log file's `Records`) than the caller's `maxParts`: thrown before any part is
 * parsed, since parsing even a refused part costs far more than its few bytes
 * (`0,` is two bytes and one error with its stack).
 */
export class TooManyPartsError extends Error {
  constructor(readonly maxParts: number) {
    super(`the record holds more than ${maxParts} events`);
    this.name = 'TooManyPartsError';
  }
}

export interface SettledParse {
  events: AuditEvent[];
  failures: RecordFailure[];
}

/**
 * Parses one record into canonical events (a JSON array or a CloudTrail log file yields one
 * per element). Throws InvalidEventError, naming the field, when any part
 * cannot be read — the HTTP ingest contract.
 */
export function parseRecord(input: RecordInput, parser: ParseMode, ctx: ParseContext = DEFAULT_PARSE_CONTEXT): AuditEvent[] {
  const { events, failures } = parseRecordSettled(input, parser, ctx);
  if (failures.length > 0) throw failures[0]!.error;
  return events;
}

/**
 * Like parseRecord, but reports failures instead of throwing, so that one bad
 * element of a JSON array or a CloudTrail log file does not cost the others.
 * With `maxParts`, a record that splits into more parts than that throws
 * TooManyPartsError before any part is parsed.
 */
export function parseRecordSettled(input: RecordInput, parser: ParseMode, ctx: ParseContext = DEFAULT_PARSE_CONTEXT, maxParts?: number): SettledParse {
  let value: unknown;
  try {
    value = valueOf(input, ctx.maxDepth);
  } catch (err) {
    return { events: [], failures: [{ input, error: asInvalid(err) }] };
  }
  const parts = new PartCount(maxParts);
  // A JSON array (an exported batch of events) is a list of records, each detected on its own.
  if (Array.isArray(value)) return settleEach(input, value, '', parts, (part) => parseValue(part, part.value, parser, ctx, parts));
  return parseValue(input, value, parser, ctx, parts);
}

/** The parts a record has split into so far: itself, plus what each split adds. Nested splits count once, as their leaves. */
class PartCount {
  private count = 1;
  constructor(private readonly max: number | undefined) {}

  /** One part becomes `n`: throws when the record would then hold more than allowed. */
  split(n: number): void {
    this.count += n - 1;
    if (this.max !== undefined && this.count > this.max) throw new TooManyPartsError(this.max);
  }
}

function parseValue(input: RecordInput, value: unknown, parser: ParseMode, ctx: ParseContext, parts: PartCount): SettledParse {
  let chosen: ProducerFormat;
  try {
    chosen = parser === 'auto' ? detect(value, input.text, ctx) : parserNamed(parser);
  } catch (err) {
    return { events: [], failures: [{ input, error: asInvalid(err) }] };
  }
  const file = chosen.split?.(value);
  if (file !== undefined) return settleEach(input, file.records, file.field, parts, (part) => parseWith(chosen, part, part.value, ctx));
  return parseWith(chosen, input, value, ctx);
}

function parseWith(format: ProducerFormat, input: RecordInput, value: unknown, ctx: ParseContext): SettledParse {
  try {
    const events = format.parse(input, value, ctx);
    if (mayHoldUnstorable(input)) for (const e of events) checkStorable(e);
    return { events, failures: [] };
  } catch (err) {
    return { events: [], failures: [{ input, error: asInvalid(err) }] };
  }
}

/** Parses each element of a container; failures are prefixed with the element's path, e.g. `Records[3]: `. */
function settleEach(input: RecordInput, elements: readonly unknown[], name: string, parts: PartCount, parse: (part: RecordInput) => SettledParse): SettledParse {
  parts.split(elements.length);
  const settled: SettledParse = { events: [], failures: [] };
  for (let i = 0; i < elements.length; i++) {
    const el = elements[i];
    // An element has no text of its own: its JSON is re-serialised, key order kept.
    const part: RecordInput = { text: JSON.stringify(el), value: el };
    const hint = childHint(input.idHint, i);
    if (hint !== undefined) part.idHint = hint;
    if (input.origin !== undefined) part.origin = input.origin;
    if (input.timestampMs !== undefined) part.timestampMs = input.timestampMs;
    const r = parse(part);
    for (const e of r.events) settled.events.push(e);
    for (const f of r.failures) settled.failures.push({ input: f.input, error: new InvalidEventError(`${name}[${i}]: ${f.error.message}`) });
  }
  return settled;
}

function parserNamed(name: string): ProducerFormat {
  const f = BY_NAME.get(name);
  if (f === undefined) throw new InvalidEventError(`parse: unknown parser "${name}" (known: auto, ${[...BY_NAME.keys()].join(', ')})`);
  return f;
}

function detect(value: unknown, text: string, ctx: ParseContext): ProducerFormat {
  for (const f of PRODUCER_FORMATS) if (f.detect(value, text, ctx)) return f;
  if (value === undefined) throw new InvalidEventError('record: neither JSON nor a known text format (VPC flow log line, Blitz logback line)');
  throw new InvalidEventError(`record: expected a JSON object, got ${describe(value)}`);
}

/**
 * The record's JSON when it is JSON; text formats (VPC lines, logback lines) give undefined.
 * Text of any kind is measured first: a logback line's JSON is parsed by its format later.
 */
function valueOf(input: RecordInput, maxDepth: number): unknown {
  if (input.value !== undefined) return input.value;
  const text = input.text;
  const depth = jsonDepth(text);
  if (depth > maxDepth) throw new InvalidEventError(tooDeepReason(depth, maxDepth));
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

/**
 * Every string of an event comes from the record's text (and its JSON
 * escapes), the transport's origin, or auditstream itself; one scan of the
 * first two decides whether the exact, per-field check is needed at all.
 */
function mayHoldUnstorable(input: RecordInput): boolean {
  if (mayHoldUnstorableText(input.text)) return true;
  if (input.origin !== undefined) for (const o of Object.values(input.origin)) if (mayHoldUnstorableText(o)) return true;
  return false;
}

/** An acknowledged event must be one every store can take as it is: refused here, naming the field, never dead-lettered later. */
function checkStorable(event: AuditEvent): void {
  const problem = unstorableField(event);
  if (problem !== undefined) throw new InvalidEventError(problem);
}

function asInvalid(err: unknown): InvalidEventError {
  if (err instanceof InvalidEventError) return err;
  // Parsers only throw InvalidEventError on purpose; anything else is a bug worth surfacing.
  throw err;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff;
}
