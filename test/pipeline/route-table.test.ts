import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../src/core/event.js';
import type { Emitter } from '../../src/pipeline/emitter.js';
import { eventTypeFilter } from '../../src/pipeline/event-filter.js';
import { RouteTable } from '../../src/pipeline/route-table.js';

/** What the table reads of an emitter: its id, its owner and its filter. */
const emitter = (name: string, tenant?: string, include?: string[]): Emitter => {
  const accepts = eventTypeFilter(include, undefined);
  return { name, tenant, accepts: (e: AuditEvent) => accepts(e.type) } as unknown as Emitter;
};
const event = (type: string, tenant?: string): AuditEvent => ({ id: 'x', time: '2024-01-01T00:00:00.000Z', type, source: 'generic', outcome: 'success', details: {}, raw: '{}', ...(tenant === undefined ? {} : { tenant }) });

test("an event goes to the global emitters and its own tenant's destinations only, filters applied", () => {
  const table = new RouteTable([emitter('store'), emitter('admins', undefined, ['admin_added'])]);
  table.add(emitter('a/siem', 'a'));
  table.add(emitter('a/logins', 'a', ['login']));
  table.add(emitter('b/siem', 'b'));
  assert.deepEqual(table.routesFor(event('login', 'a')), ['store', 'a/siem', 'a/logins']);
  assert.deepEqual(table.routesFor(event('logout', 'a')), ['store', 'a/siem']);
  assert.deepEqual(table.routesFor(event('login', 'b')), ['store', 'b/siem']);
  assert.deepEqual(table.routesFor(event('login')), ['store']);
  assert.deepEqual(table.routesFor(event('login', 'c')), ['store']);
  // Tenant and type are kept apart: no spelling of one can borrow the other's routes.
  assert.deepEqual(table.routesFor(event('\u0000login', 'a')), ['store', 'a/siem']);
  assert.deepEqual(table.routesFor(event('login', 'a\u0000')), ['store']);
});

test('adding, replacing and removing a destination changes the routes at once (the cache is emptied)', () => {
  const table = new RouteTable([emitter('store')]);
  assert.deepEqual(table.routesFor(event('login', 'a')), ['store']);
  table.add(emitter('a/siem', 'a'));
  assert.deepEqual(table.routesFor(event('login', 'a')), ['store', 'a/siem']);
  table.add(emitter('a/siem', 'a', ['logout']));
  assert.deepEqual(table.routesFor(event('login', 'a')), ['store']);
  assert.equal(table.emitter('a/siem')?.name, 'a/siem');
  table.remove('a/siem');
  assert.deepEqual(table.routesFor(event('logout', 'a')), ['store']);
  assert.equal(table.emitter('a/siem'), undefined);
});
