import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShardRateLimiter } from '../../src/sinks/kinesis/rate-limiter.js';

// A clock the test moves: pacing is arithmetic on time, checked without sleeping.
function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('a shard takes at most its records/s quota: a second of burst, then the refill rate', () => {
  const c = clock();
  const limiter = new ShardRateLimiter({ recordsPerSecPerShard: 100, bytesPerSecPerShard: 1_048_576 }, c.now);
  let taken = 0;
  while (limiter.tryTake('s1', 1, 10)) taken++;
  assert.equal(taken, 100);
  assert.equal(limiter.msUntilAvailable('s1', 1, 10), 10, 'one record per 10 ms after the burst');
  assert.ok(limiter.tryTake('s2', 1, 10), 'shards have separate quotas');
  c.advance(500);
  taken = 0;
  while (limiter.tryTake('s1', 1, 10)) taken++;
  assert.equal(taken, 50);
});

test('bytes/s is enforced too, and a record larger than one second of quota waits for a full bucket', () => {
  const c = clock();
  const limiter = new ShardRateLimiter({ recordsPerSecPerShard: 1000, bytesPerSecPerShard: 1000 }, c.now);
  assert.ok(limiter.tryTake('s', 1, 600));
  assert.equal(limiter.tryTake('s', 1, 600), false);
  c.advance(200);
  assert.ok(limiter.tryTake('s', 1, 600), '800 available now');
  assert.equal(limiter.msUntilAvailable('s', 1, 5000), 1000, 'an oversize record waits until the bucket is full again');
  c.advance(1000);
  assert.ok(limiter.tryTake('s', 1, 5000));
});

test('after Kinesis throttles a shard it is left alone for a second, then refills from empty', () => {
  const c = clock();
  const limiter = new ShardRateLimiter({ recordsPerSecPerShard: 100, bytesPerSecPerShard: 1_048_576 }, c.now);
  assert.ok(limiter.tryTake('s', 1, 1));
  limiter.throttled('s');
  assert.equal(limiter.msUntilAvailable('s', 1, 1), 1000);
  c.advance(1000);
  assert.equal(limiter.msUntilAvailable('s', 1, 1), 10, 'empty at the end of the pause');
  c.advance(100);
  let taken = 0;
  while (limiter.tryTake('s', 1, 1)) taken++;
  assert.equal(taken, 10);
});
