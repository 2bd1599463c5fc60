import type { TenantQuotas } from './tenant.js';

interface Bucket {
  tokens: number;
  atMs: number;
}

/** What a tenant over its ingest rate is told: which quota, and when the events would fit. */
export interface QuotaRefusal {
  tenant: string;
  quota: 'ingestEventsPerSec' | 'ingestBurst';
  retryAfterSec: number;
}

/**
 * Each tenant's ingest rate: a token bucket per tenant, `ingestBurst` deep,
 * refilled at `ingestEventsPerSec`. A request takes one token per event, all
 * or none, so a refused request costs the tenant nothing and can be sent again
 * whole. One bucket per tenant that has sent events, dropped with the tenant:
 * memory is bounded by the number of tenants.
 */
export class IngestQuota {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Takes `counts` (events per tenant) from the tenants' buckets, or takes
   * nothing and answers the first tenant over its quota.
   */
  take(counts: ReadonlyMap<string, number>, quotasOf: (tenant: string) => TenantQuotas): QuotaRefusal | undefined {
    const nowMs = this.now();
    const filled: [Bucket, number][] = [];
    for (const [tenant, n] of counts) {
      const q = quotasOf(tenant);
      const bucket = this.refill(tenant, q, nowMs);
      // A request larger than the bucket can never fit: waiting does not help, sending fewer at once does.
      if (n > q.ingestBurst) return { tenant, quota: 'ingestBurst', retryAfterSec: Math.ceil(n / q.ingestEventsPerSec) };
      if (bucket.tokens < n) return { tenant, quota: 'ingestEventsPerSec', retryAfterSec: Math.max(1, Math.ceil((n - bucket.tokens) / q.ingestEventsPerSec)) };
      filled.push([bucket, n]);
    }
    for (const [bucket, n] of filled) bucket.tokens -= n;
    return undefined;
  }

  forget(tenant: string): void {
    this.buckets.delete(tenant);
  }

  private refill(tenant: string, q: TenantQuotas, nowMs: number): Bucket {
    let bucket = this.buckets.get(tenant);
    if (!bucket) {
      bucket = { tokens: q.ingestBurst, atMs: nowMs };
      this.buckets.set(tenant, bucket);
      return bucket;
    }
    const elapsedSec = Math.max(0, nowMs - bucket.atMs) / 1000;
    // Capped at the current burst, so a quota lowered by PATCH applies at once.
    bucket.tokens = Math.min(q.ingestBurst, bucket.tokens + elapsedSec * q.ingestEventsPerSec);
    bucket.atMs = nowMs;
    return bucket;
  }
}
