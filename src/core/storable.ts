/**
 * Strings every store can hold. Two kinds of JavaScript string cannot be
 * stored as they were acknowledged:
 * - U+0000: PostgreSQL's `text` refuses the byte and `jsonb` the `\u0000`
 *   escape, so the audit store would dead-letter the event;
 * - an unpaired UTF-16 surrogate (`"\ud800"` in JSON) is not a character:
 *   written as UTF-8 (a log file, SQLite, PostgreSQL `text`) it silently
 *   becomes U+FFFD, and `jsonb` refuses its escape.
 * Neither has a lossless form the stores share, so an event holding one is
 * refused where it is parsed, naming the field.
 */

declare global {
  interface String {
    /** ES2024, in every Node auditstream runs on (20+); the ES2022 lib the project compiles against lacks it. */
    isWellFormed(): boolean;
  }
}

/** With the `u` flag a well-formed pair is one code point and does not match: only what cannot be stored does. */
const UNSTORABLE = /\u0000|\p{Cs}/u;

const NUL_PROBLEM = 'contains U+0000, which the PostgreSQL audit store cannot hold';

/**
 * Whether a string parsed out of `text` may hold either: the character itself,
 * or its JSON escape anywhere (a plain substring test, so JSON kept as text
 * inside a string, escaped twice, is caught too). Surrogate escapes include the
 * paired ones (`\ud83d\ude00`, as ensure_ascii JSON writers emit every emoji):
 * this only decides whether the exact check runs. Native string scans, not a
 * regular expression (several times slower here): on text of one-byte
 * characters, most JSON, V8 knows without looking that no surrogate is there.
 */
export function mayHoldUnstorable(text: string): boolean {
  if (text.indexOf('\u0000') !== -1 || !text.isWellFormed()) return true;
  for (let i = text.indexOf('\\u'); i !== -1; i = text.indexOf('\\u', i + 2)) if (escapesUnstorable(text, i + 2)) return true;
  return false;
}

/** Whether the hex digits of a `\u` escape at `at` are 0000 or a surrogate's (D800–DFFF, either case). */
function escapesUnstorable(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  if (c === 48 /* 0 */) return text.startsWith('000', at + 1);
  if ((c | 0x20) !== 100 /* d */) return false;
  const d = text.charCodeAt(at + 1) | 0x20;
  // 8, 9, a–f
  return d === 56 || d === 57 || (d >= 97 && d <= 102);
}

/** Why `s` cannot be stored as it is, or undefined when it can. */
export function unstorableProblem(s: string): string | undefined {
  if (s.indexOf('\u0000') === -1 && s.isWellFormed()) return undefined;
  const c = UNSTORABLE.exec(s)![0].charCodeAt(0);
  if (c === 0) return NUL_PROBLEM;
  return `contains an unpaired UTF-16 surrogate (\\u${c.toString(16)}), which is not a character: written as UTF-8 it would be stored as U+FFFD`;
}

/**
 * The first string of `value` that cannot be stored (an object's field names
 * before its values, then depth first in key order), as `path: problem`,
 * e.g. `details.note: contains U+0000 …`. Iterative: a value as deep as
 * JSON.parse builds must not overflow the stack.
 */
export function unstorableField(value: unknown): string | undefined {
  const stack: { path: string; value: unknown }[] = [{ path: '', value }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const v = item.value;
    if (typeof v === 'string') {
      const problem = unstorableProblem(v);
      if (problem !== undefined) return `${item.path || 'value'}: ${problem}`;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ path: `${item.path}[${i}]`, value: v[i] });
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (const key of keys) {
        const problem = unstorableProblem(key);
        if (problem !== undefined) return `${fieldPath(item.path, key)}: the field name ${problem}`;
      }
      for (let i = keys.length - 1; i >= 0; i--) stack.push({ path: fieldPath(item.path, keys[i]!), value: (v as Record<string, unknown>)[keys[i]!] });
    }
  }
  return undefined;
}

/**
 * `s` with each U+0000 and unpaired surrogate written as its `\uXXXX` escape,
 * for text auditstream writes itself (a rejection reason, an unparsed event's
 * origin) that must stay storable.
 */
export function escapeUnstorable(s: string): string {
  if (unstorableProblem(s) === undefined) return s;
  return s.replace(/\u0000|\p{Cs}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// A name made of these reads unambiguously after a dot; any other is quoted as JSON, which also escapes what cannot be stored.
const PLAIN_KEY = /^[A-Za-z0-9_$@-]+$/;

function fieldPath(parent: string, key: string): string {
  if (PLAIN_KEY.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}
