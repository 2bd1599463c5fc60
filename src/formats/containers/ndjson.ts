import { errorMessage } from '../../core/errors.js';

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
 * JSON is returned with its error and line number; the other lines are kept.
 * A single pretty-printed document (Temporal's own sample is printed so) is
 * recognised when its first line is not JSON but the whole text is.
 */
export function decodeNdjson(text: string): DecodedLine[] {
  const lines = splitLines(text);
  const out: DecodedLine[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    try {
      out[i] = { line: l.line, text: l.text, value: JSON.parse(l.text) };
    } catch (err) {
      if (i === 0 && lines.length > 1) {
        const whole = wholeDocument(text, l.line);
        if (whole !== undefined) return [whole];
      }
      out[i] = { line: l.line, text: l.text, error: `line ${l.line}: not valid JSON: ${errorMessage(err)}` };
    }
  }
  return out;
}

function wholeDocument(text: string, line: number): DecodedLine | undefined {
  const trimmed = text.trim();
  try {
    return { line, text: trimmed, value: JSON.parse(trimmed) };
  } catch {
    return undefined;
  }
}

function isBlank(text: string, start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
