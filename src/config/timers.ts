import { z } from 'zod';

/**
 * Node timers hold at most 2^31-1 ms (24.8 days); a longer delay fires after
 * 1 ms instead, so a huge timeout would time out every request at once and a
 * huge backoff would retry in a hot loop.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Keys in seconds stay well inside the timer range (serve adds its own margin to the shutdown timeout). */
export const MAX_TIMER_SEC = 1_000_000;
export const timerMs = z.number().int().max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (24.8 days), the longest a Node timer waits`);
export const timerSec = z.number().max(MAX_TIMER_SEC, `at most ${MAX_TIMER_SEC} s (about 11 days)`);
