import { HttpError } from './http-error.js';

/** One record of a POST /v1/events body, before parsing into an event. */
export interface BodyRecord {
  /** Position in the body: array index, or the index among non-blank NDJSON lines. */
  index: number;
  text: string;
  value?: unknown;
  /** Set when this record alone is unreadable (NDJSON line that is not JSON). */
  error?: string;
}

export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];
export const ACCEPTED_TYPES = ['application/json', ...NDJSON_TYPES];

/**
 * Splits a body into records. A JSON body that does not parse is the whole
 * request's fault (400); in NDJSON, one bad line is that record's fault only.
 */
export function splitBody(body: Buffer, ndjson: boolean): BodyRecord[] {
  const text = body.toString('utf8');
  if (ndjson) return splitLines(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'BODY_MALFORMED', `malformed JSON body: ${(err as Error).message}`);
  }
  if (Array.isArray(value)) return value.map((v, index) => ({ index, text: JSON.stringify(v), value: v }));
  if (value !== null && typeof value === 'object') return [{ index: 0, text, value }];
  throw new HttpError(400, 'BODY_MALFORMED', 'the body must be a JSON object, an array of objects, or NDJSON');
}

function splitLines(text: string): BodyRecord[] {
  const out: BodyRecord[] = [];
  let line = 0;
  for (const raw of text.split('\n')) {
    line += 1;
    const t = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (t.trim() === '') continue;
    const index = out.length;
    try {
      out.push({ index, text: t, value: JSON.parse(t) });
    } catch (err) {
      out.push({ index, text: t, error: `line ${line}: not JSON: ${(err as Error).message}` });
    }
  }
  return out;
}
