import type { FastifyInstance } from 'fastify';
import type { AuditstreamConfig } from '../config/schema.js';
import { TokenBucket, type BucketRate } from '../core/token-bucket.js';
import type { ApiKey, Principal } from './auth.js';
import { HttpError } from './http-error.js';

type ManageRateLimit = AuditstreamConfig['tenants']['manageRateLimit'];

/** A tenant's id (all its keys share one bucket), an admin key's entry, or undefined: every caller of an open server. */
type Caller = string | ApiKey | undefined;

/** Reads change nothing and are not limited here. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** Below this many buckets none is swept. */
const SWEEP_FLOOR = 1024;

/**
 * `tenants.manageRateLimit`: every call that changes the control plane —
 * any method but GET and HEAD, on any route with a key check but ingest
 * (bounded by the tenant's ingest quota) — takes a token from its caller's
 * bucket, or is answered 429 MANAGE_RATE_LIMITED with Retry-After. Each such
 * call writes the control store, and Test & Add and tests connect out, so a
 * tenant key looping on them would load the server and whatever it reaches.
 * Decided after the key check, on the route the router matched: a refused key
 * spends nothing, and no spelling of a path avoids it. Added after
 * requireApiKeys, whose principal it reads.
 */
export function limitManageCalls(app: FastifyInstance, limit: ManageRateLimit): ManageLimiter {
  const rate: BucketRate = { perSec: limit.perSecond, capacity: limit.burst };
  const buckets = new Map<Caller, TokenBucket>();
  let sweepAt = SWEEP_FLOOR;
  const bucketOf = (caller: Caller, nowMs: number): TokenBucket => {
    let bucket = buckets.get(caller);
    if (bucket) return bucket;
    // A full bucket is the same as none: dropping those bounds memory by the callers active lately, not by every tenant ever seen.
    if (buckets.size >= sweepAt) {
      for (const [c, b] of buckets) if (b.level(rate, nowMs) >= rate.capacity) buckets.delete(c);
      sweepAt = Math.max(SWEEP_FLOOR, buckets.size * 2);
    }
    bucket = new TokenBucket(rate, nowMs);
    buckets.set(caller, bucket);
    return bucket;
  };

  app.addHook('onRequest', async (req) => {
    const principal = req.principal;
    if (principal === undefined || READ_METHODS.has(req.method) || req.routeOptions.config.access === 'ingest') return;
    const nowMs = Date.now();
    const bucket = bucketOf(callerOf(principal), nowMs);
    const waitMs = bucket.msUntil(1, rate, nowMs);
    if (waitMs > 0) {
      const retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
      const who = principal.kind === 'tenant' ? `tenant "${principal.tenant}"` : principal.key ? 'this admin key' : 'this server without server.apiKeys (its callers share one bucket)';
      throw new HttpError(
        429,
        'MANAGE_RATE_LIMITED',
        `${who} is over tenants.manageRateLimit (${limit.burst} changes at once, then ${limit.perSecond} a second); retry after ${retryAfterSec} s`,
        {},
        retryAfterSec,
      );
    }
    bucket.take(1);
  });
  return { forget: (tenant) => buckets.delete(tenant) };
}

export interface ManageLimiter {
  /** Drops a deleted tenant's bucket: a tenant made again under its id starts full, not with what the old one spent. */
  forget(tenant: string): void;
}

function callerOf(principal: Principal): Caller {
  return principal.kind === 'tenant' ? principal.tenant : principal.key;
}
