import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** Time-ordered ids keep store inserts append-mostly and make ids sort by arrival. */
export function newEventId(): string {
  return uuidv7();
}

/**
 * The longest event id, in characters (code points). Every accepted id must be
 * fetchable as `GET /v1/events/{encodeURIComponent(id)}`: the bound keeps that
 * URL short, and the router's maxParamLength is derived from it.
 */
export const MAX_EVENT_ID_CHARS = 256;

/** The longest percent-encoded id: a code point is up to 4 UTF-8 bytes, each written `%XX`. */
export const MAX_ENCODED_EVENT_ID_LENGTH = MAX_EVENT_ID_CHARS * 4 * 3;

// C0 controls and DEL: NUL cannot be stored by PostgreSQL, and none belongs in an id that ends up in log lines and URLs.
const CONTROL = /[\u0000-\u001f\u007f]/;
// A lone surrogate cannot be written as UTF-8: stores would keep U+FFFD and encodeURIComponent throws on it.
const LONE_SURROGATE = /\p{Cs}/u;

/** Why `id` cannot be an event id, or undefined when it can be one. */
export function eventIdProblem(id: string): string | undefined {
  if (id.length > MAX_EVENT_ID_CHARS && codePoints(id) > MAX_EVENT_ID_CHARS) {
    return `${codePoints(id)} characters, over the ${MAX_EVENT_ID_CHARS} an id may have`;
  }
  if (CONTROL.test(id)) return 'contains a control character (U+0000–U+001F or U+007F)';
  if (LONE_SURROGATE.test(id)) return 'contains an unpaired UTF-16 surrogate, which is not a character';
  // URL clients resolve these path segments away (WHATWG URL, curl): GET /v1/events/.. could never reach the event.
  if (id === '.' || id === '..') return `"${id}" cannot be a URL path segment`;
  return undefined;
}

/**
 * A deterministic id for a collector's hint that cannot be an id as it is (an
 * S3 key of 1,024 bytes, a CloudWatch log event id of any length): the same
 * hint gives the same id, so a replay still dedupes.
 */
export function hintedEventId(hint: string): string {
  return eventIdProblem(hint) === undefined ? hint : `sha256:${createHash('sha256').update(hint).digest('hex')}`;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
