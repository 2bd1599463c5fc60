import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { InvalidEventError } from '../../src/core/errors.js';
import { DEFAULT_EVENT_TIME_BOUNDS, canonicalMs, parseTime, parseTimeMs } from '../../src/core/time.js';

const bounds = DEFAULT_EVENT_TIME_BOUNDS;
const parse = (v: unknown, field = 'time') => parseTime(v, field, bounds);

/** Asserts `fn` throws InvalidEventError whose message matches `pattern`. */
function refuses(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof InvalidEventError && pattern.test(e.message), `expected an InvalidEventError matching ${pattern}`);
}

test('the producers\' time notations become ISO 8601 UTC with milliseconds', () => {
  assert.equal(parseTime('2018-01-15 14:29:38.175', 'timestamp', bounds, { zonelessIsUtc: true }), '2018-01-15T14:29:38.175Z'); // Foxpass
  assert.equal(parse(1700476187069), '2023-11-20T10:29:47.069Z'); // Blitz epoch ms
  assert.equal(parse('2022-11-04T17:49:58.384+0300'), '2022-11-04T14:49:58.384Z'); // Blitz offset without colon
  assert.equal(parse('2023-11-14T07:56:55Z'), '2023-11-14T07:56:55.000Z'); // Temporal
  assert.equal(parse('2024-03-01T10:00:00.123456Z'), '2024-03-01T10:00:00.123Z'); // a finer fraction is cut to ms
  assert.equal(parse(1619538050), '2021-04-27T15:40:50.000Z'); // VPC epoch seconds
  assert.equal(parse('1619538050'), '2021-04-27T15:40:50.000Z');
  assert.equal(parse('2024-02-29T23:59:59-05:00'), '2024-03-01T04:59:59.000Z'); // leap day
});

test('a string of digits is an epoch number of any length, never a date read by guesswork', () => {
  // Date.parse read "7" as 2001-07-01 and "6" as 2001-06-01.
  assert.equal(parse('7'), '1970-01-01T00:00:07.000Z');
  assert.equal(parseTimeMs('6', 'from'), 6000);
  assert.equal(parse(7), '1970-01-01T00:00:07.000Z');
  assert.equal(parse('1619538050.25'), '2021-04-27T15:40:50.250Z');
});

test('what is not an unambiguous notation is refused, saying why', () => {
  refuses(() => parse('March 5'), /^time: cannot read "March 5" as a time: use ISO 8601 with an offset/); // Date.parse: 2001-03-05
  refuses(() => parse('yesterday', 'timestamp'), /^timestamp: cannot read "yesterday"/);
  refuses(() => parse('2024-03-01'), /^time: cannot read "2024-03-01"/);
  refuses(() => parse('1e9'), /^time: cannot read "1e9"/);
  refuses(() => parse('+275760-09-13T00:00:00Z'), /^time: cannot read/);
  refuses(() => parse(null, 'emit_time'), /^emit_time: expected a time .*got null/);
  refuses(() => parse(true), /^time: expected a time/);
  refuses(() => parse({ t: 1 }), /got an object/);
  refuses(() => parse(`2024-01-01T00:00:00.${'1'.repeat(1000)}Z`), /too long for a time/);
});

test('calendar fields are checked instead of rolling over', () => {
  // Date.parse made 2024-02-30 into 2024-03-01.
  refuses(() => parse('2024-02-30T00:00:00Z'), /day 30 does not exist in 2024-02/);
  refuses(() => parse('2023-02-29T00:00:00Z'), /day 29 does not exist in 2023-02/);
  refuses(() => parse('2024-04-31T00:00:00Z'), /day 31 does not exist in 2024-04/);
  refuses(() => parse('2024-13-01T00:00:00Z'), /month 13 does not exist/);
  refuses(() => parse('2024-01-01T24:00:00Z'), /hour 24/);
  refuses(() => parse('2024-01-01T12:60:00Z'), /minute 60/);
  refuses(() => parse('2024-01-01T12:00:61Z'), /second 61/);
  refuses(() => parse('2024-01-01T12:00:00+24:00'), /offset \+24:00 does not exist/);
  assert.equal(parse('2000-02-29T00:00:00Z'), '2000-02-29T00:00:00.000Z');
  refuses(() => parse('1900-02-29T00:00:00Z'), /day 29 does not exist/);
});

test('a time without an offset is refused unless the format documents its zone, and then reads the same in every time zone', () => {
  refuses(() => parse('2024-03-01T12:00:00'), /no UTC offset/);
  refuses(() => parse('2018-01-15 14:29:38.175'), /no UTC offset/);
  const script =
    "import { parseTime, DEFAULT_EVENT_TIME_BOUNDS } from './src/core/time.ts'; console.log(parseTime('2018-01-15 14:29:38.175', 't', DEFAULT_EVENT_TIME_BOUNDS, { zonelessIsUtc: true }));";
  for (const tz of ['UTC', 'America/New_York', 'Asia/Tashkent']) {
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    assert.equal(out.stdout.trim(), '2018-01-15T14:29:38.175Z', `TZ=${tz}: ${out.stderr}`);
  }
});

test('event times are held to the window: not before notBefore, not more than maxAheadSec ahead', () => {
  refuses(() => parse(-1), /^time: 1969-12-31T23:59:59\.000Z is before 1970-01-01T00:00:00\.000Z \(audit\.eventTime\.notBefore\)/);
  refuses(() => parse('2200-01-01T00:00:00Z'), /^time: 2200-01-01T00:00:00\.000Z is more than 86400 s ahead of the server's clock \(audit\.eventTime\.maxAheadSec\)/);
  refuses(() => parse(Date.now() + 2 * 86_400_000), /maxAheadSec/);
  const soon = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal(parse(soon), soon, 'an hour of clock skew is fine by default');
  const strict = { notBeforeMs: Date.parse('2020-01-01T00:00:00Z'), maxAheadSec: 0 };
  refuses(() => parseTime('2019-12-31T23:59:59Z', 'time', strict), /before 2020-01-01T00:00:00\.000Z/);
  refuses(() => parseTime(soon, 'time', strict), /more than 0 s ahead/);
  assert.equal(parseTime('2020-01-01T00:00:00Z', 'time', strict), '2020-01-01T00:00:00.000Z');
});

test('whatever the window, only the years 0001–9999 are read: every store can hold them', () => {
  refuses(() => parseTimeMs('0000-12-31T23:00:00Z', 'from'), /outside the years 0001–9999/);
  refuses(() => parseTimeMs(1e20, 'to'), /outside the years 0001–9999/);
  refuses(() => parseTimeMs(Number.NaN, 'to'), /not a finite number/);
  assert.equal(parseTimeMs('9999-12-31T23:59:59.999Z', 'to'), 253_402_300_799_999);
  assert.equal(parseTimeMs('0001-01-01T00:00:00Z', 'from'), -62_135_596_800_000);
});

test('a time written as parseTime writes it is taken as it is; one that only looks like it gets the full checks', () => {
  const bounds = { notBeforeMs: Number.MIN_SAFE_INTEGER, maxAheadSec: 86_400 };
  assert.equal(parseTime('2024-05-01T12:00:00.000Z', 'time', bounds), '2024-05-01T12:00:00.000Z');
  assert.equal(parseTime('0001-01-01T00:00:00.000Z', 'time', bounds), '0001-01-01T00:00:00.000Z');
  assert.throws(() => parseTime('2024-02-30T00:00:00.000Z', 'time', bounds), { message: /^time: cannot read "2024-02-30T00:00:00.000Z" as a time: day 30 does not exist in 2024-02/ });
  assert.throws(() => parseTime('0000-12-31T00:00:00.000Z', 'time', bounds), { message: /outside the years 0001–9999/ });
  assert.throws(() => parseTime('2024-05-01T24:00:00.000Z', 'time', bounds), { message: /hour 24 is not 00–23/ });
  assert.throws(() => parseTime('2024-05-01T12:00:00.000Z', 'time', { notBeforeMs: Date.UTC(2025, 0, 1), maxAheadSec: 0 }), { message: /^time: 2024-05-01T12:00:00.000Z is before 2025-01-01T00:00:00.000Z/ });
});

test('canonicalMs reads a canonical time to the instant Date.parse reads, and refuses what does not read back to the same text', () => {
  // Instants over the years 0001–9999, some with a character changed, from a fixed seed: every string that
  // Date.parse and toISOString give back unchanged is read to the same ms, every other one is NaN.
  const roundTrip = (v: string) => {
    const ms = Date.parse(v);
    return ms >= -62_135_596_800_000 && new Date(ms).toISOString() === v ? ms : Number.NaN;
  };
  const chars = '0123456789-:.TZ';
  let seed = 4242;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const fixed = ['2024-02-29T23:59:59.999Z', '2023-02-29T00:00:00.000Z', '1900-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z', '0099-03-01T00:00:00.000Z', '2024-04-31T00:00:00.000Z', '2024-05-01T12:60:00.000Z'];
  for (const v of fixed) assert.ok(Object.is(canonicalMs(v), roundTrip(v)), v);
  for (let k = 0; k < 100_000; k++) {
    const chosen = -62_135_596_800_000 + Math.floor((next(2 ** 31) / 2 ** 31) * 315_537_897_600_000);
    const v = [...new Date(chosen).toISOString()];
    for (let m = next(3); m > 0; m--) v[next(24)] = chars[next(chars.length)]!;
    const text = v.join('');
    assert.ok(Object.is(canonicalMs(text), roundTrip(text)), text);
  }
});
