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
 * (`2024-05-01T12:00:00.000Z`, what most producers send), else NaN. That it
 * reads back to the same text proves it valid, without the general regex and
 * its dozen captures, and the text is then the result as it is.
 */
function canonicalMs(value: unknown): number {
  if (typeof value !== 'string' || value.length !== 24 || value.charCodeAt(23) !== 90 /* Z */ || value.charCodeAt(10) !== 84 /* T */) return Number.NaN;
  const ms = Date.parse(value);
  if (!(ms >= EARLIEST_TIME_MS && ms <= LATEST_TIME_MS)) return Number.NaN;
  return new Date(ms).toISOString() === value ? ms : Number.NaN;
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
