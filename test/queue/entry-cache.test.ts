import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryCache } from '../../src/queue/entry-cache.js';

const entry = (id: string, bytes: number) => ({ eventId: id, partitionKey: null, enqueuedAt: 0, payload: Buffer.alloc(bytes, 'x') });

test('the cache stays within its byte cap by evicting what was put first', () => {
  // Each entry counts its payload plus a fixed overhead (384 bytes), so three of these are over 1 500 bytes and two are not.
  const cache = new EntryCache(1500);
  cache.put(1, entry('a', 300));
  cache.put(2, entry('b', 300));
  assert.equal(cache.get(1)?.eventId, 'a');
  cache.put(3, entry('c', 300));
  assert.equal(cache.get(1), undefined, 'the oldest put is gone');
  assert.equal(cache.get(2)?.eventId, 'b');
  assert.equal(cache.get(3)?.eventId, 'c');
});

test('an entry larger than the whole cap is not kept, and evicts nothing', () => {
  const cache = new EntryCache(1000);
  cache.put(1, entry('a', 100));
  cache.put(2, entry('huge', 5000));
  assert.equal(cache.get(2), undefined);
  assert.equal(cache.get(1)?.eventId, 'a');
});

test('a seq already held keeps its first entry (and its payload Buffer, which readers share)', () => {
  const cache = new EntryCache(10_000);
  const first = entry('a', 10);
  cache.put(1, first);
  cache.put(1, entry('again', 10));
  assert.equal(cache.get(1), first);
});

test('a cap of 0 keeps nothing', () => {
  const cache = new EntryCache(0);
  cache.put(1, entry('a', 1));
  assert.equal(cache.get(1), undefined);
});

test('an entry holding its event object counts the object too: fewer of them fit', () => {
  const cache = new EntryCache(1500);
  const withEvent = (id: string) => ({ ...entry(id, 150), event: { id } as never });
  cache.put(1, withEvent('a'));
  cache.put(2, withEvent('b'));
  assert.equal(cache.get(1), undefined, 'two of 150 payload bytes and their objects are over 1 500 bytes');
  assert.equal(cache.get(2)?.eventId, 'b');
  cache.put(3, entry('c', 150));
  assert.equal(cache.get(2)?.eventId, 'b', 'without an object, 150 bytes fit beside it');
});
