import { InvalidEventError } from './errors.js';

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

/** Formats a Date as ISO 8601 with milliseconds and an explicit offset (UTC: `Z`). */
export function toIso(date: Date): string {
  return date.toISOString();
}

/**
 * Parses the time notations the seeds use into ISO 8601 (UTC, ms):
 * epoch ms (Blitz `timestamp`), epoch seconds, "YYYY-MM-DD HH:MM:SS.sss" (Foxpass, UTC),
 * "2022-11-04T17:49:58.384+0300" (Blitz, offset without colon), and plain ISO 8601.
 */
export function parseTime(value: unknown, field = 'time'): string {
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Below 1e11 it cannot be milliseconds of any date after 1973: treat it as seconds.
    const ms = value < 1e11 ? value * 1000 : value;
    return checked(new Date(ms), value, field);
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidEventError(`${field}: expected a timestamp, got ${JSON.stringify(value)}`);
  }
  let s = value.trim();
  if (/^\d{10,13}(\.\d+)?$/.test(s)) return parseTime(Number(s), field);
  // Foxpass: "2018-01-15 14:29:38.175" — documented as UTC.
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(s)) s = `${s.replace(' ', 'T')}Z`;
  // No offset at all: read as UTC. Date.parse would use the server's time zone, so the
  // same record would get a different time on each collector.
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s = `${s}Z`;
  // Offsets written as +0300 (Java's default) are not accepted by Date.parse.
  s = s.replace(/([+-])(\d{2})(\d{2})$/, '$1$2:$3');
  return checked(new Date(s), value, field);
}

function checked(d: Date, original: unknown, field: string): string {
  if (Number.isNaN(d.getTime())) {
    throw new InvalidEventError(`${field}: cannot read ${JSON.stringify(original)} as a timestamp`);
  }
  return d.toISOString();
}

/** yyyy-MM-dd in UTC, for daily rollover names and time-partitioned keys. */
export function utcDay(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
