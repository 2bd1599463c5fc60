import { errorMessage } from '../../core/errors.js';
import { jsonDepth, tooDeepReason } from '../parse-helpers/depth.js';
import { TooManyPartsError } from '../parse.js';

export interface Line {
  /** 1-based line number in the input. */
  line: number;
  text: string;
}

export interface DecodedLine extends Line {
  /** The parsed JSON; absent when `error` is set. */
  value?: unknown;
  /** Why the line is not JSON. */
  error?: string;
}

/** Non-blank lines, without their line terminators (`\n` or `\r\n`). */
export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  let n = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    n++;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    if (stop > start && !isBlank(text, start, stop)) lines.push({ line: n, text: text.slice(start, stop) });
    start = end + 1;
  }
  return lines;
}

/**
 * NDJSON: one JSON document per line, blank lines ignored. A line that is not
 * JSON, or is nested deeper than `maxDepth` (never parsed), is returned with its
 * error and line number; the other lines are kept. A single pretty-printed
 * document (Temporal's own sample is printed so) is recognised when its first
 * line is not JSON but the whole text is. With `maxLines`, more non-blank
 * lines than that throw TooManyPartsError before any is parsed.
 */
export function decodeNdjson(text: string, maxDepth: number, maxLines?: number): DecodedLine[] {
  const lines = splitLines(text);
  // Counted before any line is parsed: a line of `{}` is three bytes, and its event far more.
  if (maxLines !== undefined && lines.length > maxLines) throw new TooManyPartsError(maxLines);
  const out: DecodedLine[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const depth = jsonDepth(l.text);
    if (depth > maxDepth) {
      out[i] = { line: l.line, text: l.text, error: `line ${l.line}: ${tooDeepReason(depth, maxDepth)}` };
      continue;
    }
    try {
      out[i] = { line: l.line, text: l.text, value: JSON.parse(l.text) };
    } catch (err) {
      if (i === 0 && lines.length > 1) {
        const whole = wholeDocument(text, l.line, maxDepth);
        if (whole !== undefined) return [whole];
      }
      out[i] = { line: l.line, text: l.text, error: `line ${l.line}: not valid JSON: ${errorMessage(err)}` };
    }
  }
  return out;
}

/**
 * The text as one document, or undefined when it is not one. Bracketed like
 * one but too deep to parse, it is refused as one: its lines alone would only
 * say "not JSON".
 */
function wholeDocument(text: string, line: number, maxDepth: number): DecodedLine | undefined {
  const trimmed = text.trim();
  const depth = jsonDepth(trimmed);
  if (depth > maxDepth) return bracketed(trimmed) ? { line, text: trimmed, error: `line ${line}: ${tooDeepReason(depth, maxDepth)}` } : undefined;
  try {
    return { line, text: trimmed, value: JSON.parse(trimmed) };
  } catch {
    return undefined;
  }
}

function bracketed(text: string): boolean {
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  return (first === 123 /* { */ || first === 91 /* [ */) && (last === 125 /* } */ || last === 93 /* ] */);
}

function isBlank(text: string, start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
