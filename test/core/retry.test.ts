import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelayMs } from '../../src/core/retry.js';

test('equal jitter: attempt n waits between half and all of min(max, initial·2ⁿ)', () => {
  for (const [attempt, ceiling] of [[0, 100], [1, 200], [3, 800], [10, 5_000], [60, 5_000]] as const) {
    assert.equal(backoffDelayMs(attempt, 100, 5_000, undefined, () => 0), ceiling / 2, `attempt ${attempt}, lowest draw`);
    assert.equal(backoffDelayMs(attempt, 100, 5_000, undefined, () => 0.999999), ceiling - 1, `attempt ${attempt}, highest draw`);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(attempt, 100, 5_000);
      assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d} outside [${ceiling / 2}, ${ceiling}]`);
    }
  }
});

test("a destination's Retry-After wins when longer, but never past the maximum", () => {
  assert.equal(backoffDelayMs(0, 100, 5_000, 2_000, () => 0), 2_000);
  assert.equal(backoffDelayMs(5, 100, 5_000, 10, () => 0), 1_600);
  assert.equal(backoffDelayMs(0, 100, 5_000, 60_000, () => 0), 5_000);
});
