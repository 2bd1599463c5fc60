import { describe } from './describe.js';
import { InvalidEventError } from './errors.js';

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

/**
 * The instants every store can hold, whatever the configuration: PostgreSQL's
 * timestamptz has no year 0, and ISO 8601 without an expanded (`+275760-…`)
 * year, which PostgreSQL refuses, ends with 9999.
 */
export const EARLIEST_TIME_MS = -62_135_596_800_000; // 0001-01-01T00:00:00.000Z
export const LATEST_TIME_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** The window an event's time must fall in (config `audit.eventTime`). */
export interface EventTimeBounds {
  /** Earliest accepted time, epoch ms (`audit.eventTime.notBefore`). */
  notBeforeMs: number;
  /** How far past the server's clock a time may be, in seconds (`audit.eventTime.maxAheadSec`). */
  maxAheadSec: number;
}

export const DEFAULT_EVENT_TIME_BOUNDS: EventTimeBounds = { notBeforeMs: 0, maxAheadSec: 86_400 };

export interface TimeNotation {
  /**
   * The format documents its zone as UTC (Foxpass), so a time without an
   * offset is read as UTC. Everywhere else such a time is refused: it names a
   * different instant in each time zone.
   */
  zonelessIsUtc?: boolean;
}

/**
 * An event's time as ISO 8601 UTC with milliseconds: read by parseTimeMs, then
 * held to the configured window, so that a typo (`20240-…`, epoch µs) cannot
 * land an event above every newest-first search or below every range.
 */
export function parseTime(value: unknown, field: string, bounds: EventTimeBounds, notation: TimeNotation = {}): string {
  let ms = canonicalMs(value);
  let iso: string;
  if (Number.isNaN(ms)) {
    ms = parseTimeMs(value, field, notation);
    iso = new Date(ms).toISOString();
  } else {
    iso = value as string;
  }
  if (ms < bounds.notBeforeMs) {
    throw new InvalidEventError(`${field}: ${iso} is before ${new Date(bounds.notBeforeMs).toISOString()} (audit.eventTime.notBefore)`);
  }
  if (ms > latestMs(bounds)) {
    throw new InvalidEventError(`${field}: ${iso} is more than ${bounds.maxAheadSec} s ahead of the server's clock (audit.eventTime.maxAheadSec)`);
  }
  return iso;
}

/**
 * The epoch ms of a time already written as parseTime writes it
 * (`2024-05-01T12:00:00.000Z`, what most producers send), else NaN: read field
 * by field, each in its range and the day in its month, so that the text is
 * then the result as it is, without the general regex and its dozen captures.
 * Date.parse and a toISOString round trip said the same at ten times the cost,
 * a tenth of reading a collector's CloudWatch Logs message.
 */
export function canonicalMs(value: unknown): number {
  if (typeof value !== 'string' || value.length !== 24 || value.charCodeAt(23) !== 90 /* Z */ || value.charCodeAt(10) !== 84 /* T */) return Number.NaN;
  for (const at of SEPARATORS) if (value.charCodeAt(at) !== CANONICAL.charCodeAt(at)) return Number.NaN;
  const y = digits(value, 0, 4);
  const mo = digits(value, 5, 2);
  const d = digits(value, 8, 2);
  const h = digits(value, 11, 2);
  const mi = digits(value, 14, 2);
  const s = digits(value, 17, 2);
  const ms = digits(value, 20, 3);
  // Year 0 is before EARLIEST_TIME_MS; 9999 is the largest four digits hold, within LATEST_TIME_MS.
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || ms < 0) return Number.NaN;
  return daysSinceEpoch(y, mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + ms;
}

const CANONICAL = '0000-00-00T00:00:00.000Z';
const SEPARATORS = [4, 7, 13, 16, 19];

/** The number written by text[at, at + n) in decimal digits, or -1 when one is not a digit. */
function digits(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Days from 1970-01-01 to a proleptic Gregorian date of year 1 or later (H. Hinnant's days_from_civil). */
function daysSinceEpoch(y: number, mo: number, d: number): number {
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** Whether epoch ms `ms` is a time an event may have under `bounds`. */
export function withinBounds(ms: number, bounds: EventTimeBounds): boolean {
  return Number.isFinite(ms) && ms >= Math.max(bounds.notBeforeMs, EARLIEST_TIME_MS) && ms <= latestMs(bounds);
}

function latestMs(bounds: EventTimeBounds): number {
  return Math.min(Date.now() + bounds.maxAheadSec * 1000, LATEST_TIME_MS);
}

// ISO 8601 extended format / RFC 3339: a calendar date, a time of day (seconds and fraction
// optional) and the offset. No nested quantifiers: linear on any input.
const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const EPOCH = /^-?\d{1,16}(\.\d{1,9})?$/;
// Long enough for any accepted notation (35 characters at most); longer input is refused before any matching.
const MAX_NOTATION_LENGTH = 40;

/**
 * Reads a time in one of the unambiguous notations, as epoch ms:
 * - a number, or a string of digits: epoch seconds below 1e11 (until the year 5138), else epoch
 *   milliseconds (from 1973-03-03) — Blitz `timestamp`, VPC `start`, search `from=6`;
 * - ISO 8601 / RFC 3339 with `Z`, `+03:00` or `+0300` (Blitz), `T` or a space between date and time,
 *   seconds and a fraction optional;
 * - without an offset only where `notation.zonelessIsUtc` says the format is UTC (Foxpass
 *   `2018-01-15 14:29:38.175`).
 * Calendar fields are checked (no 30 February rolling over into March) and the result must lie
 * in 0001-01-01 … 9999-12-31. The error names the field and says what is wrong.
 */
export function parseTimeMs(value: unknown, field: string, notation: TimeNotation = {}): number {
  if (typeof value === 'number') return epochMs(value, value, field);
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidEventError(`${field}: expected a time (ISO 8601 with an offset, or epoch seconds or milliseconds), got ${describe(value)}`);
  }
  const s = value.trim();
  if (s.length > MAX_NOTATION_LENGTH) throw unreadable(field, value, 'too long for a time');
  if (EPOCH.test(s)) return epochMs(Number(s), value, field);
  const m = ISO.exec(s);
  if (m === null) throw unreadable(field, value, 'use ISO 8601 with an offset, e.g. 2024-05-01T12:00:00Z, or epoch seconds or milliseconds');
  const [, y, mo, d, h, mi, sec, frac, zulu, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = sec === undefined ? 0 : Number(sec);
  if (month < 1 || month > 12) throw unreadable(field, value, `month ${mo} does not exist`);
  if (day < 1 || day > daysInMonth(year, month)) throw unreadable(field, value, `day ${d} does not exist in ${y}-${mo}`);
  if (hour > 23) throw unreadable(field, value, `hour ${h} is not 00–23`);
  if (minute > 59) throw unreadable(field, value, `minute ${mi} is not 00–59`);
  if (second > 59) throw unreadable(field, value, `second ${sec} is not 00–59`);
  let offsetMin = 0;
  if (sign !== undefined) {
    if (Number(oh) > 23 || Number(om) > 59) throw unreadable(field, value, `offset ${sign}${oh}:${om} does not exist`);
    offsetMin = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  } else if (zulu === undefined && notation.zonelessIsUtc !== true) {
    throw unreadable(field, value, 'no UTC offset, so it names a different instant in each time zone; add Z or ±HH:MM');
  }
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return inRange(date.getTime() - offsetMin * 60_000, value, field);
}

function epochMs(n: number, original: unknown, field: string): number {
  if (!Number.isFinite(n)) throw unreadable(field, original, 'not a finite number');
  // Below 1e11 it cannot be milliseconds of any date after 1973-03-03: it is seconds.
  const ms = Math.abs(n) < 1e11 ? Math.round(n * 1000) : Math.trunc(n);
  return inRange(ms, original, field);
}

function inRange(ms: number, original: unknown, field: string): number {
  if (ms < EARLIEST_TIME_MS || ms > LATEST_TIME_MS) throw unreadable(field, original, 'outside the years 0001–9999');
  return ms;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function unreadable(field: string, value: unknown, why: string): InvalidEventError {
  return new InvalidEventError(`${field}: cannot read ${describe(value)} as a time: ${why}`);
}


/** yyyy-MM-dd in UTC, for daily rollover names and time-partitioned keys. */
export function utcDay(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
