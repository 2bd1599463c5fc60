import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryPolicy } from '../../src/pipeline/delivery-policy.js';

test('without lists, every routed emitter must confirm (as in Blitz)', () => {
  const p = new DeliveryPolicy({});
  assert.deepEqual(p.missing(['a', 'b'], new Set(['a', 'b'])), []);
  assert.deepEqual(p.missing(['a', 'b'], new Set(['a'])), ['b']);
  assert.equal(p.isRequired('anything'), true);
});

test("Blitz's example: one of the logs/kafka and the audit store must confirm", () => {
  const p = new DeliveryPolicy({ emitAtLeastOneOf: ['users-log', 'admins-log', 'kafka'], emitToAllOf: ['audit-store'] });
  assert.deepEqual(p.missing(['users-log', 'kafka', 'audit-store'], new Set(['kafka', 'audit-store'])), []);
  assert.deepEqual(p.missing(['users-log', 'kafka', 'audit-store'], new Set(['users-log'])), ['audit-store']);
  assert.deepEqual(p.missing(['users-log', 'kafka', 'audit-store'], new Set(['audit-store'])).sort(), ['kafka', 'users-log']);
});

test('an emitter in neither list is best-effort: its failure never fails the producer', () => {
  const p = new DeliveryPolicy({ emitToAllOf: ['store'] });
  assert.equal(p.isRequired('slow-webhook'), false);
  assert.deepEqual(p.missing(['store', 'slow-webhook'], new Set(['store'])), []);
});

test('only emitters the event was routed to count (include/exclude first)', () => {
  const p = new DeliveryPolicy({ emitAtLeastOneOf: ['admins-log'], emitToAllOf: ['audit-store'] });
  // A login is excluded from admins-log: the at-least-one rule has no candidate and holds.
  assert.deepEqual(p.missing(['audit-store'], new Set(['audit-store'])), []);
});
