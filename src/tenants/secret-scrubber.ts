import { saslCredentials } from '../sinks/kafka/config.js';
import { substituteSecrets } from '../sinks/http/secrets.js';
import { REDACTED, secretValues } from './destination-secrets.js';

/** Values shorter than this are not looked for in text: they would match ordinary words, and hide nothing. */
const MIN_QUOTED_SECRET = 4;

/** A path segment or word at least this long of a secret is looked for on its own: a receiver may echo part of a value. */
const MIN_QUOTED_PART = 8;

/**
 * Characters a scrub may compare, at most, against forms sharing the heads it
 * meets. Ordinary configs compare a few per character of the text; a config
 * made to defeat the index (hundreds of long forms with one head, `aaaa…`)
 * compares hundreds of thousands, on the event loop, per refused event.
 */
const WORK_LIMIT = 200_000;

/** Shown instead of a text whose scrub went over WORK_LIMIT, and of every later one of that config. */
export const WITHHELD = '(not shown: this destination\'s secrets could not be looked for in it in time)';

/** What the http sink puts after a body it cut (response.ts truncatedBody): the cut may fall inside a quoted secret. */
const CUT_MARK = '…';

/**
 * A function that replaces, in a text about this (plain) config, every
 * secret value of it by REDACTED: for what a sink says about its config (a
 * receiver answering "invalid token <the token>", a test step quoting the
 * endpoint it tried), which sinks write without knowing which of their keys
 * are secrets. The forms are found by their first characters (a Map), so a
 * config with many secrets costs about one lookup per character of the text,
 * not one pass per form: a tenant's refused events are each scrubbed on the
 * event loop. A config whose forms defeat the index (many sharing one head)
 * would still cost (text length × their length) per text: past WORK_LIMIT its
 * texts are WITHHELD instead, which costs its own destination the receiver's
 * words and nobody else anything.
 */
export function secretScrubber(type: string, config: Record<string, unknown>): (text: string) => string {
  const values = [...secretValues(type, config), ...derivedSecrets(type, config)];
  const forms = new FormIndex(values.flatMap(quotedForms));
  if (forms.empty) return (text) => text;
  // A batch refused whole has the same reason for each of its events: scrubbed once.
  let lastText: string | undefined;
  let lastScrubbed = '';
  return (text) => {
    if (text !== lastText) {
      lastText = text;
      lastScrubbed = forms.scrub(text);
    }
    return lastScrubbed;
  };
}

/**
 * The forms of a config's secrets, longest first, by a number made of their
 * first MIN_QUOTED_SECRET characters (no string made per character of a
 * text; two heads with one number only add a startsWith).
 */
class FormIndex {
  private readonly byHead = new Map<number, string[]>();
  private readonly longest: number;
  /** Characters compared in the current scrub; once over WORK_LIMIT, every text of this config is WITHHELD. */
  private work = 0;
  private withheld = false;

  constructor(forms: readonly string[]) {
    const kept = [...new Set(forms)].filter((f) => f.length >= MIN_QUOTED_SECRET).sort((a, b) => b.length - a.length);
    for (const form of kept) {
      const head = headAt(form, 0);
      const list = this.byHead.get(head);
      if (list) list.push(form);
      else this.byHead.set(head, [form]);
    }
    this.longest = kept[0]?.length ?? 0;
  }

  get empty(): boolean {
    return this.byHead.size === 0;
  }

  scrub(text: string): string {
    if (this.withheld) return WITHHELD;
    this.work = 0;
    const scrubbed = this.redactCut(this.redact(text));
    if (this.work > WORK_LIMIT) this.withheld = true;
    return this.withheld ? WITHHELD : scrubbed;
  }

  /** Whether `form` stands in `text` at `at`, counted against WORK_LIMIT by what the comparison may cost. */
  private standsAt(form: string, text: string, at: number): boolean {
    this.work += Math.min(form.length, text.length - at);
    return this.work <= WORK_LIMIT && text.startsWith(form, at);
  }

  /** Every form in the text replaced, the leftmost first and at each place the longest. */
  private redact(text: string): string {
    let out = '';
    let copied = 0;
    for (let at = 0; at + MIN_QUOTED_SECRET <= text.length; ) {
      const hit = this.byHead.get(headAt(text, at))?.find((form) => this.standsAt(form, text, at));
      if (hit === undefined) {
        at++;
        continue;
      }
      out += `${text.slice(copied, at)}${REDACTED}`;
      at += hit.length;
      copied = at;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }

  /**
   * A text cut short (ending in CUT_MARK) may end with the start of a
   * secret: the longest such start, MIN_QUOTED_SECRET characters or more, is replaced.
   */
  private redactCut(text: string): string {
    if (!text.endsWith(CUT_MARK)) return text;
    const body = text.slice(0, -CUT_MARK.length);
    for (let at = Math.max(0, body.length - this.longest + 1); at + MIN_QUOTED_SECRET <= body.length; at++) {
      const tail = body.length - at;
      const forms = this.byHead.get(headAt(body, at));
      if (forms?.some((form) => form.length > tail && this.standsAt(form.slice(0, tail), body, at))) return `${body.slice(0, at)}${REDACTED}${CUT_MARK}`;
    }
    return text;
  }
}

/**
 * Secrets the sink sends in a form not written in the config: basic auth's
 * Authorization value (base64 of `username:password`, which a receiver echoing
 * its request's headers quotes) and a Kafka password inside `jaasConfig`,
 * each with `${name}` from secureParams resolved as the sink resolves it.
 */
function derivedSecrets(type: string, config: Record<string, unknown>): string[] {
  try {
    if (type === 'http') {
      const auth = config.auth as { username?: unknown; password?: unknown } | undefined;
      if (typeof auth?.username !== 'string' || typeof auth.password !== 'string') return [];
      const params = (config.secureParams ?? {}) as Record<string, string>;
      return [Buffer.from(`${substituteSecrets(auth.username, params)}:${substituteSecrets(auth.password, params)}`).toString('base64')];
    }
    if (type === 'kafka' && config.sasl && typeof config.sasl === 'object') {
      return [saslCredentials({ secureParams: {}, ...config.sasl } as Parameters<typeof saslCredentials>[0]).password];
    }
  } catch {
    // A config the sink refuses (a reference to no secureParam, a malformed jaasConfig) never sends these.
  }
  return [];
}

/**
 * The ways a receiver or a library may quote a secret back: as it is,
 * percent-encoded (a URL echoed as the request line had it, in either case of
 * hex), JSON-escaped (PHP escapes "/", some serialisers every non-ASCII
 * character, PHP both), with its runs of white space made one (as the http
 * sink flattens a body), and, for a path token or a header value with a
 * scheme word ("Bearer …"), each long enough segment or word.
 */
function quotedForms(v: string): string[] {
  const json = JSON.stringify(v).slice(1, -1);
  // Serialisers that write ASCII only (Python's json.dumps, Jackson's ESCAPE_NON_ASCII) quote anything else as \uxxxx or \uXXXX.
  const asciiJson = json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const asciiJsonUpper = asciiJson.replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => `\\u${hex.toUpperCase()}`);
  const percent = encodeURIComponent(v);
  const forms = [v, percent, percent.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()), encodeURI(v), json, json.replaceAll('/', '\\/'), asciiJson, asciiJsonUpper, asciiJson.replaceAll('/', '\\/'), v.replace(/\s+/g, ' ')];
  try {
    // As the URL parser writes it in a path and in a query, which encode different characters (`'` only in a query).
    forms.push(new URL(`http://x/${v}`).pathname.slice(1), new URL(`http://x/?${v}`).search.slice(1));
  } catch {
    // Not a path: the other forms stand.
  }
  forms.push(...[...v.split('/'), ...v.split(/\s+/)].filter((part) => part.length >= MIN_QUOTED_PART && part !== v));
  return forms;
}

/** The MIN_QUOTED_SECRET (4) UTF-16 units of `s` from `at`, hashed into a small integer (a Map key V8 need not box). */
function headAt(s: string, at: number): number {
  let h = s.charCodeAt(at);
  h = (Math.imul(h, 31) + s.charCodeAt(at + 1)) | 0;
  h = (Math.imul(h, 31) + s.charCodeAt(at + 2)) | 0;
  return ((Math.imul(h, 31) + s.charCodeAt(at + 3)) | 0) & 0x3fffffff;
}
