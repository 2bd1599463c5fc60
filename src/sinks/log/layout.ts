import type { AuditEvent } from '../../core/event.js';
import { valueAtPath } from '../../core/field-path.js';
import { ConfigError } from '../../core/errors.js';
import { compileDateFormat, ISO8601_PATTERN } from './date-format.js';

/** Renders a batch as its lines, one per event, `\n` included, ready to append. `now` is the time of writing (logback's event time). */
export type Layout = (events: readonly AuditEvent[], now: Date) => Buffer;

export interface LayoutSettings {
  pattern: string;
  /** What %message prints: the canonical event as JSON, or the producer's original record. */
  message: 'event' | 'raw';
  level: string;
  logger: string;
  /** Printed by %thread: Node has no per-event thread, the emitter is the closest thing. */
  emitterName: string;
}

/** The appender pattern of Blitz Identity Provider's logback.xml. */
export const BLITZ_PATTERN = '%date - [%level] -[%file:%line] - %message%n%xException{20}';

/** The pattern layout; the json layout writes the stored bytes as they are (sink.ts) and needs none. */
export function compilePatternLayout(settings: LayoutSettings): Layout {
  const render = compilePattern(settings.pattern, settings);
  return (events, now) => Buffer.from(events.map((event) => render({ event, now })).join(''));
}

interface RenderContext {
  event: AuditEvent;
  now: Date;
}

type Converter = (ctx: RenderContext) => string;

interface Token {
  word: string;
  options: string[];
  modifier: Modifier | undefined;
}

interface Modifier {
  min: number;
  leftAlign: boolean;
  max: number;
  /** logback `%.-N`: keep the first N characters instead of the last N. */
  truncateEnd: boolean;
}

// logback prints nothing for these when the event carries no exception; audit events never do.
const EXCEPTION_WORDS = new Set([
  'ex', 'exception', 'throwable', 'xEx', 'xException', 'xThrowable', 'rEx', 'rootException', 'nopex', 'nopexception',
]);

// Caller data (source file, line, class, method) describes a JVM call site; there is none here.
// logback prints "?" when caller data is unavailable, and so do we.
const CALLER_WORDS = new Set(['F', 'file', 'L', 'line', 'C', 'class', 'M', 'method']);

const UTC_ZONES = new Set(['UTC', 'GMT', 'Z', 'Etc/UTC', 'Etc/GMT']);

/**
 * Compiles a logback PatternLayout pattern. Throws ConfigError (key `pattern`)
 * naming the first conversion word or option it cannot honour, so a pattern
 * copied from logback.xml never silently prints something else.
 */
export function compilePattern(pattern: string, settings: Omit<LayoutSettings, 'pattern'>): (ctx: RenderContext) => string {
  const parts = parsePattern(pattern);
  let lastNewline = -1;
  parts.forEach((p, i) => {
    if (typeof p !== 'string' && p.word === 'n') lastNewline = i;
  });
  const afterLast = parts.slice(lastNewline + 1);
  if (lastNewline < 0 || afterLast.some((p) => typeof p === 'string' || !EXCEPTION_WORDS.has(p.word))) {
    throw new ConfigError('pattern', 'must end with %n so that each event is exactly one line');
  }
  const converters: Converter[] = parts.map((p) => (typeof p === 'string' ? () => p : converterFor(p, settings)));
  return (ctx) => {
    let out = '';
    for (const c of converters) out += c(ctx);
    return out;
  };
}

function converterFor(token: Token, settings: Omit<LayoutSettings, 'pattern'>): Converter {
  const value = valueConverter(token, settings);
  if (token.word === 'n') return value;
  // A line break inside a value would split one event over two lines.
  const oneLine: Converter = (ctx) => value(ctx).replace(/\r\n|[\r\n]/g, ' ');
  const mod = token.modifier;
  return mod ? (ctx) => applyModifier(oneLine(ctx), mod) : oneLine;
}

function valueConverter(token: Token, settings: Omit<LayoutSettings, 'pattern'>): Converter {
  const { word, options } = token;
  switch (word) {
    case 'd':
    case 'date': {
      const [format = ISO8601_PATTERN, zone] = options;
      if (zone !== undefined && !UTC_ZONES.has(zone)) {
        throw new ConfigError('pattern', `%${word}{${options.join(', ')}}: time zone "${zone}" is not supported; lines are written in UTC`);
      }
      try {
        const f = compileDateFormat(format === 'ISO8601' ? ISO8601_PATTERN : format);
        return (ctx) => f(ctx.now);
      } catch (err) {
        throw new ConfigError('pattern', `%${word}{${format}}: ${(err as Error).message}`);
      }
    }
    case 'p':
    case 'le':
    case 'level':
      return () => settings.level;
    case 'c':
    case 'lo':
    case 'logger': {
      const name = options[0] === undefined ? settings.logger : abbreviate(settings.logger, lengthOption(token));
      return () => name;
    }
    case 'm':
    case 'msg':
    case 'message':
      return settings.message === 'raw' ? (ctx) => ctx.event.raw : (ctx) => JSON.stringify(ctx.event);
    case 'n':
      return () => '\n';
    case 't':
    case 'thread':
      return () => settings.emitterName;
    case 'X':
    case 'mdc': {
      const spec = options[0];
      if (!spec) throw new ConfigError('pattern', `%${word} needs a key, e.g. %${word}{type}`);
      const [key, fallback = ''] = spec.split(':-', 2) as [string, string?];
      return (ctx) => eventField(ctx.event, key) ?? fallback;
    }
    default:
      if (EXCEPTION_WORDS.has(word)) return () => '';
      if (CALLER_WORDS.has(word)) return () => '?';
      throw new ConfigError('pattern', `unknown conversion word "%${word}"`);
  }
}

function lengthOption(token: Token): number {
  const n = Number(token.options[0]);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError('pattern', `%${token.word}{${token.options[0]}}: expected a length`);
  return n;
}

/** logback's logger-name abbreviation: shorten leading dotted segments to their first letter until it fits. */
function abbreviate(name: string, length: number): string {
  const segments = name.split('.');
  if (length === 0) return segments[segments.length - 1]!;
  for (let i = 0; i < segments.length - 1 && segments.join('.').length > length; i++) {
    segments[i] = segments[i]!.slice(0, 1);
  }
  return segments.join('.');
}

const CANONICAL_FIELDS = ['id', 'time', 'type', 'source', 'service', 'outcome', 'actor', 'clientIp', 'sessionId', 'tenant', 'message'] as const;

/** %X{key}: logback's MDC; here a canonical field of the event, else a (dotted) path into its details. */
function eventField(event: AuditEvent, key: string): string | undefined {
  const canonical = (CANONICAL_FIELDS as readonly string[]).includes(key) ? (event as unknown as Record<string, unknown>)[key] : valueAtPath(event.details, key);
  if (canonical === undefined || canonical === null) return undefined;
  return typeof canonical === 'string' ? canonical : JSON.stringify(canonical);
}

function applyModifier(value: string, mod: Modifier): string {
  let v = value;
  if (v.length > mod.max) v = mod.truncateEnd ? v.slice(0, mod.max) : v.slice(v.length - mod.max);
  if (v.length < mod.min) v = mod.leftAlign ? v.padEnd(mod.min) : v.padStart(mod.min);
  return v;
}

function parsePattern(pattern: string): (string | Token)[] {
  const parts: (string | Token)[] = [];
  let literal = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length && '%()\\'.includes(pattern[i + 1]!)) {
      literal += pattern[i + 1];
      i += 2;
      continue;
    }
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    const m = /^%(-)?(\d+)?(?:\.(-)?(\d+))?([A-Za-z]*)/.exec(pattern.slice(i))!;
    const [whole, left, min, truncEnd, max, word] = m;
    if (!word) {
      const next = pattern[i + whole.length];
      throw new ConfigError('pattern', next === undefined
        ? 'pattern ends with a lone "%"'
        : `unknown conversion word "%${next}" (grouping and colour words are not supported; write \\% for a literal %)`);
    }
    i += whole.length;
    let options: string[] = [];
    if (pattern[i] === '{') {
      const close = pattern.indexOf('}', i);
      if (close < 0) throw new ConfigError('pattern', `%${word}: "{" without a closing "}"`);
      options = splitOptions(pattern.slice(i + 1, close));
      i = close + 1;
    }
    if (literal) parts.push(literal);
    literal = '';
    const modifier = min !== undefined || max !== undefined
      ? { min: Number(min ?? 0), leftAlign: left === '-', max: max === undefined ? Infinity : Number(max), truncateEnd: truncEnd === '-' }
      : undefined;
    parts.push({ word, options, modifier });
  }
  if (literal) parts.push(literal);
  return parts;
}

/** `{a, b}` → ["a", "b"]; a double-quoted option may contain commas: %d{"HH:mm:ss,SSS"}. */
function splitOptions(text: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"([^"]*)"|([^,]*))\s*(?:,|$)/y;
  while (re.lastIndex < text.length) {
    const m = re.exec(text);
    if (!m) break;
    out.push(m[1] ?? m[2]!.trim());
  }
  return out;
}
