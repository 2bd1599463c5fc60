import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IngestQuota } from '../../src/tenants/ingest-quota.js';
import type { TenantQuotas } from '../../src/tenants/tenant.js';

const q = (ingestEventsPerSec: number, ingestBurst: number): TenantQuotas => ({ ingestEventsPerSec, ingestBurst, maxDestinations: 1, maxBacklogBytes: 1 });

test('ingest quota: a burst up to the bucket, then the sustained rate; a refused request takes nothing; tenants have their own buckets', () => {
  let now = 1_000_000;
  const quota = new IngestQuota(() => now);
  const quotas: Record<string, TenantQuotas> = { a: q(10, 20), b: q(10, 20) };
  const of = (t: string) => quotas[t]!;
  assert.equal(quota.take(new Map([['a', 15]]), of), undefined);
  assert.deepEqual(quota.take(new Map([['a', 10]]), of), { tenant: 'a', quota: 'ingestEventsPerSec', retryAfterSec: 1 });
  // The refusal took nothing: the 5 tokens left still serve 5 events.
  assert.equal(quota.take(new Map([['a', 5]]), of), undefined);
  assert.equal(quota.take(new Map([['b', 20]]), of), undefined, "a's use does not touch b's bucket");
  // 2.5 s at 10/s refill 25 tokens, capped at the burst.
  now += 2500;
  assert.equal(quota.take(new Map([['a', 20]]), of), undefined);
  assert.deepEqual(quota.take(new Map([['a', 1]]), of)?.quota, 'ingestEventsPerSec');
  now += 300;
  assert.deepEqual(quota.take(new Map([['a', 10]]), of), { tenant: 'a', quota: 'ingestEventsPerSec', retryAfterSec: 1 });
  assert.equal(quota.take(new Map([['a', 3]]), of), undefined);
});

test('ingest quota: one request over the burst can never fit and says so; a request for two tenants takes from both or neither', () => {
  let now = 0;
  const quota = new IngestQuota(() => now);
  const quotas: Record<string, TenantQuotas> = { a: q(5, 10), b: q(1, 2) };
  const of = (t: string) => quotas[t]!;
  assert.deepEqual(quota.take(new Map([['a', 11]]), of), { tenant: 'a', quota: 'ingestBurst', retryAfterSec: 3 });
  assert.equal(quota.take(new Map([['b', 2]]), of), undefined);
  assert.equal(quota.take(new Map([['a', 4], ['b', 1]]), of)?.tenant, 'b');
  assert.equal(quota.take(new Map([['a', 10]]), of), undefined, 'a was not charged for the refused request');
  // A quota lowered (PATCH) applies at once: the bucket is capped at the new burst.
  now += 60_000;
  quotas.a = q(5, 3);
  assert.equal(quota.take(new Map([['a', 4]]), of)?.quota, 'ingestBurst');
  assert.equal(quota.take(new Map([['a', 3]]), of), undefined);
  assert.equal(quota.take(new Map([['a', 1]]), of)?.quota, 'ingestEventsPerSec');
  quota.forget('a');
  assert.equal(quota.take(new Map([['a', 3]]), of), undefined, 'a forgotten tenant starts with a full bucket');
});

test('ingest quota: exhausted() answers only when not one event fits, and takes nothing', () => {
  let now = 0;
  const quota = new IngestQuota(() => now);
  const quotas = q(2, 4);
  assert.equal(quota.exhausted('a', quotas), undefined, 'a tenant that has sent nothing has a full bucket');
  assert.equal(quota.take(new Map([['a', 3]]), () => quotas), undefined);
  assert.equal(quota.exhausted('a', quotas), undefined, 'one token left: a one-event request may fit');
  assert.equal(quota.exhausted('a', quotas), undefined, 'asking took nothing');
  assert.equal(quota.take(new Map([['a', 1]]), () => quotas), undefined);
  assert.deepEqual(quota.exhausted('a', quotas), { tenant: 'a', quota: 'ingestEventsPerSec', retryAfterSec: 1 });
  now += 400;
  assert.ok(quota.exhausted('a', quotas), '0.8 tokens: still not one event');
  now += 100;
  assert.equal(quota.exhausted('a', quotas), undefined, 'a whole token after 0.5 s at 2/s');
  assert.equal(quota.take(new Map([['a', 1]]), () => quotas), undefined);
  assert.deepEqual(quota.exhausted('a', q(0.1, 4)), { tenant: 'a', quota: 'ingestEventsPerSec', retryAfterSec: 10 }, 'Retry-After: the seconds until one event fits');
});
