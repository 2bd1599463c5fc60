import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { InvalidEventError } from '../../src/core/errors.js';
import { parseTime } from '../../src/core/time.js';

test('the notations of the seeds become ISO 8601 UTC with milliseconds', () => {
  assert.equal(parseTime('2018-01-15 14:29:38.175'), '2018-01-15T14:29:38.175Z'); // Foxpass
  assert.equal(parseTime(1700476187069), '2023-11-20T10:29:47.069Z'); // Blitz epoch ms
  assert.equal(parseTime('2022-11-04T17:49:58.384+0300'), '2022-11-04T14:49:58.384Z'); // Blitz offset without colon
  assert.equal(parseTime('2023-11-14T07:56:55Z'), '2023-11-14T07:56:55.000Z'); // Temporal
  assert.equal(parseTime(1619538050), '2021-04-27T15:40:50.000Z'); // VPC epoch seconds
  assert.equal(parseTime('1619538050'), '2021-04-27T15:40:50.000Z');
});

test('a time without an offset is UTC whatever the server time zone', () => {
  const script = "import { parseTime } from './src/core/time.ts'; console.log(parseTime('2024-03-01T12:00:00'));";
  for (const tz of ['UTC', 'America/New_York', 'Asia/Tashkent']) {
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    assert.equal(out.stdout.trim(), '2024-03-01T12:00:00.000Z', `TZ=${tz}: ${out.stderr}`);
  }
});

test('an unreadable time names the field', () => {
  assert.throws(() => parseTime('yesterday', 'timestamp'), (e: unknown) => e instanceof InvalidEventError && /^timestamp: cannot read "yesterday"/.test(e.message));
  assert.throws(() => parseTime(null, 'emit_time'), (e: unknown) => e instanceof InvalidEventError && /^emit_time:/.test(e.message));
});
