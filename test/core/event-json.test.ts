import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventJson } from '../../src/core/component-metrics.js';
import type { AuditEvent } from '../../src/core/event.js';

test("an event's JSON is made once and kept where no copy, key listing, JSON or deep comparison sees it", () => {
  const event: AuditEvent = { id: 'x', time: '2024-05-01T00:00:00.000Z', type: 'login', source: 'generic', outcome: 'success', details: { a: 1 }, raw: '{}' };
  const copy = structuredClone(event);
  const bytes = eventJson(event);
  assert.equal(bytes.toString(), JSON.stringify(copy));
  assert.equal(eventJson(event), bytes, 'the same Buffer the second time');
  assert.deepStrictEqual(event, copy);
  assert.deepEqual(Object.keys(event), Object.keys(copy));
  assert.equal(JSON.stringify(event), JSON.stringify(copy));
  const spread = { ...event };
  assert.notEqual(eventJson(spread), bytes, 'a copy, which may be changed, makes its own');
});
