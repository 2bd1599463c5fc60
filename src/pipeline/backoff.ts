/**
 * Capped exponential backoff with full jitter: retries from many emitters
 * (or many auditstream nodes) against one throttled destination spread out
 * instead of arriving in lockstep. A destination's own Retry-After wins when longer.
 */
export function backoffDelayMs(attempt: number, initialMs: number, maxMs: number, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.floor(ceiling / 2 + random() * (ceiling / 2));
  return Math.min(maxMs, Math.max(jittered, retryAfterMs ?? 0));
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
