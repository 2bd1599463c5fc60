/**
 * The one retry delay of every loop that retries a destination or a source.
 *
 * Capped exponential backoff with *equal* jitter: attempt n waits a uniformly
 * random time in [c/2, c], c = min(maxMs, initialMs · 2ⁿ). Half of it is
 * random, so retries from many emitters (or many auditstream nodes) against one
 * throttled destination spread out instead of arriving in lockstep; the other
 * half is fixed, so a retry never comes back almost at once (as full jitter,
 * uniform in [0, c], may). The destination's own Retry-After wins when longer,
 * up to maxMs.
 */
export function backoffDelayMs(attempt: number, initialMs: number, maxMs: number, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(0, attempt), 30));
  const jittered = Math.floor(ceiling / 2 + random() * (ceiling / 2));
  return Math.min(maxMs, Math.max(jittered, retryAfterMs ?? 0));
}
