import { TokenBucket, type BucketRate } from '../core/token-bucket.js';
import type { TenantQuotas } from './tenant.js';

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
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Takes `counts` (events per tenant) from the tenants' buckets, or takes
   * nothing and answers the first tenant over its quota.
   */
  take(counts: ReadonlyMap<string, number>, quotasOf: (tenant: string) => TenantQuotas): QuotaRefusal | undefined {
    const nowMs = this.now();
    const filled: [TokenBucket, number][] = [];
    for (const [tenant, n] of counts) {
      const q = quotasOf(tenant);
      // A request larger than the bucket can never fit: waiting does not help, sending fewer at once does.
      if (n > q.ingestBurst) return { tenant, quota: 'ingestBurst', retryAfterSec: Math.ceil(n / q.ingestEventsPerSec) };
      const bucket = this.bucketOf(tenant, rateOf(q), nowMs);
      const refusal = this.refusal(tenant, bucket, q, n, nowMs);
      if (refusal) return refusal;
      filled.push([bucket, n]);
    }
    for (const [bucket, n] of filled) bucket.take(n);
    return undefined;
  }

  /**
   * The refusal for a tenant whose bucket cannot take a single event now, or
   * undefined. Takes nothing: it lets a request be refused before its body is
   * read, when no body could fit.
   */
  exhausted(tenant: string, q: TenantQuotas): QuotaRefusal | undefined {
    const bucket = this.buckets.get(tenant);
    // No bucket: the tenant has sent nothing yet, so its bucket would be full.
    return bucket && this.refusal(tenant, bucket, q, 1, this.now());
  }

  forget(tenant: string): void {
    this.buckets.delete(tenant);
  }

  private refusal(tenant: string, bucket: TokenBucket, q: TenantQuotas, n: number, nowMs: number): QuotaRefusal | undefined {
    const tokens = bucket.level(rateOf(q), nowMs);
    if (tokens >= n) return undefined;
    return { tenant, quota: 'ingestEventsPerSec', retryAfterSec: Math.max(1, Math.ceil((n - tokens) / q.ingestEventsPerSec)) };
  }

  private bucketOf(tenant: string, rate: BucketRate, nowMs: number): TokenBucket {
    let bucket = this.buckets.get(tenant);
    if (!bucket) {
      bucket = new TokenBucket(rate, nowMs);
      this.buckets.set(tenant, bucket);
    }
    return bucket;
  }
}

/** Capped at the current burst on every look, so a quota lowered by PATCH applies at once. */
function rateOf(q: TenantQuotas): BucketRate {
  return { perSec: q.ingestEventsPerSec, capacity: q.ingestBurst };
}
