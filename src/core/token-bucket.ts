/** How fast a token bucket fills, and how much it holds. */
export interface BucketRate {
  /** Tokens added per second. */
  perSec: number;
  /** The most it holds: what may be taken at once after a quiet spell. */
  capacity: number;
}

/**
 * A token bucket: it starts full, fills at `perSec` up to `capacity`, and
 * callers take tokens from it. The rate comes with every call instead of
 * being kept, so a limit changed on the running server (a tenant's quota)
 * applies from the next call, a lowered capacity at once. Taking more than it
 * holds leaves it negative, which later callers wait out.
 */
export class TokenBucket {
  private tokens: number;
  private atMs: number;

  constructor(rate: BucketRate, nowMs: number) {
    this.tokens = rate.capacity;
    this.atMs = nowMs;
  }

  /**
   * The tokens held at `nowMs`. A time before the last one seen adds nothing:
   * a bucket drained to a moment ahead (drain) fills only from then, and a
   * clock stepping back cannot refill it twice.
   */
  level(rate: BucketRate, nowMs: number): number {
    if (nowMs > this.atMs) {
      this.tokens += ((nowMs - this.atMs) / 1000) * rate.perSec;
      this.atMs = nowMs;
    }
    this.tokens = Math.min(this.tokens, rate.capacity);
    return this.tokens;
  }

  /**
   * Milliseconds until it holds `cost` tokens; 0: now. A cost above the
   * capacity waits for a full bucket, since it could never hold more.
   */
  msUntil(cost: number, rate: BucketRate, nowMs: number): number {
    const missing = Math.min(cost, rate.capacity) - this.level(rate, nowMs);
    return missing <= 0 ? 0 : Math.ceil((missing / rate.perSec) * 1000);
  }

  take(cost: number): void {
    this.tokens -= cost;
  }

  /** Empties it at `nowMs`, which may lie ahead: it fills again only from then. */
  drain(rate: BucketRate, nowMs: number): void {
    this.level(rate, nowMs);
    this.tokens = Math.min(this.tokens, 0);
  }
}
