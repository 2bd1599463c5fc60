import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryAfterMs } from '../../src/core/retry-after.js';

test('Retry-After: delay-seconds, an HTTP date, and what cannot be read', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs([' 2 ']), 2000);
  const inFive = new Date(Date.now() + 5_000).toUTCString();
  const ms = retryAfterMs(inFive)!;
  assert.ok(ms > 3_000 && ms <= 5_000, `${ms}`);
  assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT'), 0, 'a date in the past means now');
  for (const bad of [undefined, null, '', '  ', 'soon', '-1', '1.5']) assert.equal(retryAfterMs(bad), undefined, String(bad));
});
