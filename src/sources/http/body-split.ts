import { DepthScan, jsonDepth, tooDeepReason } from '../../formats/parse-helpers/depth.js';
import type { BodyKind } from './content-types.js';
import { BodyMalformedError, TooManyEventsError } from './errors.js';
import type { Pacer } from './pacer.js';

/** One record of an ingested body, before parsing into an event. */
export interface BodyRecord {
  /** Position in the body: array index, or the index among non-blank lines (NDJSON, text). */
  index: number;
  text: string;
  value?: unknown;
  /** The 1-based line of the body it was on (NDJSON, text), for the error messages of its parse. */
  line?: number;
  /** Set when this record alone cannot be taken (an NDJSON line that is not JSON, a record nested too deep). */
  error?: string;
}

export interface BodyLimits {
  /** Records a body may hold; more is refused as a whole (TooManyEventsError) before any record is parsed. */
  maxEventsPerRequest: number;
  /** Nesting a record may have; deeper records are rejected by index, never parsed. */
  maxDepth: number;
}

/** Characters scanned between looks at the clock: cheap enough to ignore, small enough to stay within a slice. */
const SCAN_CHUNK = 64 * 1024;

/**
 * Splits a body into records. The records are found and counted, and each
 * one's nesting measured, by a scan of the text that builds nothing, so a body
 * with too many records costs one pass and a record nested too deep is never
 * handed to JSON.parse or anything recursive after it. A JSON body that does
 * not parse is the whole request's fault (BodyMalformedError); in NDJSON, one bad line is that
 * record's fault only. A text body's lines are left unparsed: which format reads them is the caller's choice.
 */
export async function splitBody(body: Buffer, kind: BodyKind, limits: BodyLimits, pacer: Pacer): Promise<BodyRecord[]> {
  // A byte order mark, as editors on Windows save text, is not part of the first line's record.
  if (kind === 'text') return splitLines(hasBom(body) ? body.subarray(3) : body, false, limits, pacer);
  if (kind === 'ndjson') return splitLines(body, true, limits, pacer);
  const text = body.toString('utf8');
  const first = skipSpace(text, 0);
  if (text.charCodeAt(first) === 91 /* [ */) return splitArray(text, first, limits, pacer);
  const depth = await scanDepth(text, 0, text.length, pacer);
  if (depth > limits.maxDepth) {
    // Left unparsed: whether it is an object at all is not worth the risk of reading it.
    return [{ index: 0, text, error: tooDeepReason(depth, limits.maxDepth) }];
  }
  const value = parseWhole(text);
  if (value !== null && typeof value === 'object') return [{ index: 0, text, value }];
  throw new BodyMalformedError('the body must be a JSON object, an array of objects, or NDJSON');
}

interface Span {
  start: number;
  end: number;
  /** Nesting of the element itself: 0 for a scalar, 1 for `{}`. */
  depth: number;
}

async function splitArray(text: string, open: number, limits: BodyLimits, pacer: Pacer): Promise<BodyRecord[]> {
  const spans = await arrayElements(text, open, limits.maxEventsPerRequest, pacer);
  if (spans === undefined) throw malformed(text);
  const out: BodyRecord[] = [];
  for (let index = 0; index < spans.length; index++) {
    if (pacer.due()) await pacer.yield();
    const { start, end, depth } = spans[index]!;
    const slice = text.slice(start, end);
    if (depth > limits.maxDepth) {
      out.push({ index, text: slice, error: tooDeepReason(depth, limits.maxDepth) });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(slice);
    } catch {
      throw malformed(text);
    }
    // An element has no text of its own: its JSON is re-serialised, key order kept (docs/formats.md).
    out.push({ index, text: JSON.stringify(value), value });
  }
  return out;
}

/**
 * The elements of the JSON array whose `[` is at `open`, or undefined when the
 * array's own punctuation is broken (unclosed, an empty element, text after
 * it). The elements themselves are checked by JSON.parse later. Throws TooManyEventsError as
 * soon as there are more than `max` elements.
 */
async function arrayElements(text: string, open: number, max: number, pacer: Pacer): Promise<Span[] | undefined> {
  const spans: Span[] = [];
  let depth = 1;
  let deepest = 1;
  let start = open + 1;
  let inString = false;
  let nextLook = open + SCAN_CHUNK;
  const close = (end: number): boolean => {
    if (skipSpace(text, start) >= end) return false;
    if (spans.length === max) throw new TooManyEventsError(max);
    spans.push({ start, end, depth: deepest - 1 });
    start = end + 1;
    deepest = 1;
    return true;
  };
  for (let i = open + 1; i < text.length; i++) {
    if (i >= nextLook) {
      if (pacer.due()) await pacer.yield();
      nextLook = i + SCAN_CHUNK;
    }
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (--depth > 0) continue;
      if (c !== 93) return undefined;
      // `[]` holds no element; `[1,]` has an empty one.
      if (!close(i) && spans.length > 0) return undefined;
      return skipSpace(text, i + 1) === text.length ? spans : undefined;
    } else if (c === 44 /* , */ && depth === 1) {
      if (!close(i)) return undefined;
    }
  }
  return undefined;
}

/** The deepest nesting of text[start, end), measured a chunk at a time so that a large body does not hold the event loop. */
async function scanDepth(text: string, start: number, end: number, pacer: Pacer): Promise<number> {
  const scan = new DepthScan();
  await inChunks(start, end, pacer, (from, to) => scan.feed(text, from, to));
  return scan.deepest;
}

/** The deepest nesting of bytes[start, end), a chunk at a time; see scanDepth. */
async function scanDepthBytes(bytes: Buffer, start: number, end: number, pacer: Pacer): Promise<number> {
  const scan = new DepthScan();
  await inChunks(start, end, pacer, (from, to) => scan.feedBytes(bytes, from, to));
  return scan.deepest;
}

/** Calls `feed` on [start, end) in SCAN_CHUNK pieces, yielding to the event loop between them when the pacer says so. */
async function inChunks(start: number, end: number, pacer: Pacer, feed: (from: number, to: number) => void): Promise<void> {
  for (let from = start; from < end; from += SCAN_CHUNK) {
    if (from > start && pacer.due()) await pacer.yield();
    feed(from, Math.min(end, from + SCAN_CHUNK));
  }
}

/**
 * Lines are found in the bytes and only each line's own slice is decoded: the
 * whole body is never turned into one string to be cut up again. A line break
 * (0x0A) cannot occur inside a multi-byte UTF-8 character, so the lines are
 * those of the decoded text.
 */
async function splitLines(body: Buffer, json: boolean, limits: BodyLimits, pacer: Pacer): Promise<BodyRecord[]> {
  // Counted first, from line breaks alone, so that a body of too many lines is refused before any is parsed.
  const lines: { line: number; start: number; end: number }[] = [];
  let line = 0;
  for (let start = 0; start <= body.length; ) {
    if ((line & 4095) === 0 && pacer.due()) await pacer.yield();
    let end = body.indexOf(10, start);
    if (end < 0) end = body.length;
    line += 1;
    const stop = end > start && body[end - 1] === 13 ? end - 1 : end;
    if (!isBlank(body, start, stop)) {
      if (lines.length === limits.maxEventsPerRequest) throw new TooManyEventsError(limits.maxEventsPerRequest);
      lines.push({ line, start, end: stop });
    }
    start = end + 1;
  }
  const out: BodyRecord[] = [];
  for (const l of lines) {
    if (pacer.due()) await pacer.yield();
    const index = out.length;
    const t = body.toString('utf8', l.start, l.end);
    // A text line may still be JSON (`auto` reads a line that starts with `{` as JSON): measured all the same.
    // A line of one chunk or less is measured at once, on its decoded text: an await per line cost more than the scan.
    const depth = l.end - l.start <= SCAN_CHUNK ? jsonDepth(t) : await scanDepthBytes(body, l.start, l.end, pacer);
    if (depth > limits.maxDepth) {
      out.push({ index, line: l.line, text: t, error: tooDeepReason(depth, limits.maxDepth) });
      continue;
    }
    if (!json) {
      out.push({ index, line: l.line, text: t });
      continue;
    }
    try {
      out.push({ index, line: l.line, text: t, value: JSON.parse(t) });
    } catch (err) {
      out.push({ index, line: l.line, text: t, error: `line ${l.line}: not JSON: ${(err as Error).message}` });
    }
  }
  return out;
}

function hasBom(b: Buffer): boolean {
  return b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
}

/**
 * Whether bytes[start, end) is blank as String.prototype.trim sees it. ASCII
 * is decided on the bytes; a line with any other byte is decoded, since trim
 * also drops Unicode spaces (U+00A0, U+2028, a stray byte order mark...).
 */
function isBlank(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 32 || (c >= 9 && c <= 13)) continue;
    if (c < 0x80) return false;
    return b.toString('utf8', i, end).trim() === '';
  }
  return true;
}

function parseWhole(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BodyMalformedError(`malformed JSON body: ${(err as Error).message}`);
  }
}

/** The refusal of a body whose JSON is broken, with JSON.parse's own words for where (the scan only knows that it is). */
function malformed(text: string): BodyMalformedError {
  try {
    JSON.parse(text);
  } catch (err) {
    return new BodyMalformedError(`malformed JSON body: ${(err as Error).message}`);
  }
  return new BodyMalformedError('malformed JSON body');
}

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}
