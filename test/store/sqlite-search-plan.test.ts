/**
 * Which index a tenant's search walks decides whether it reads a page's worth
 * of rows or the tenant's every event. The plans are asked of SQLite itself
 * (EXPLAIN QUERY PLAN) for the statement the store runs, on a file the store
 * made, before and after ANALYZE gave the planner statistics.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { SearchQuery } from '../../src/store/audit-store.js';
import { encodeCursor } from '../../src/store/cursor.js';
import { planSearch } from '../../src/store/search-plan.js';
import { searchStatement } from '../../src/store/sqlite-search.js';
import { SqliteAuditStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../support/temp.js';
import { eventSeries } from './events.js';

/** A search and the index (with the columns it is searched by) its plan must use. */
const CASES: { query: SearchQuery; index: string; expected: number }[] = [
  { query: { tenant: 'acme', actor: 'user7' }, index: 'audit_events_actor_time (actor=?)', expected: 40 },
  { query: { tenant: 'acme', sessionId: 'sess-3' }, index: 'audit_events_session_time (session_id=?)', expected: 10 },
  { query: { tenant: 'acme', actor: 'user7', sessionId: 'sess-3' }, index: 'audit_events_session_time (session_id=?)', expected: 0 },
  { query: { tenant: 'acme', type: 'logout', actor: 'user7' }, index: 'audit_events_actor_time (actor=?)', expected: 20 },
  { query: { tenant: 'acme', actor: 'user7', outcome: 'success', clientIp: '192.0.2.10' }, index: 'audit_events_actor_time (actor=?)', expected: 40 },
  {
    query: { tenant: 'acme', actor: 'user7', cursor: encodeCursor({ timeMs: Date.parse('2024-06-01T00:00:00Z'), id: 'z', source: 'z' }) },
    index: 'audit_events_actor_time (actor=? AND (time_ms,id,source)<(?,?,?))',
    expected: 40,
  },
  { query: { tenant: 'globex', type: 'logout' }, index: 'audit_events_tenant_time (tenant=?)', expected: 10 },
  { query: { tenant: 'globex', from: '2024-05-01T00:00:00Z' }, index: 'audit_events_tenant_time (tenant=? AND time_ms>?)', expected: 10 },
  { query: { actor: 'user7', type: 'logout' }, index: 'audit_events_actor_time (actor=?)', expected: 30 },
];

test('sqlite search: a tenant search by actor or session walks that index, not the tenant index, with statistics or without', async (t) => {
  const path = join(await tempDir(t), 'audit.db');
  const store = new SqliteAuditStore({ path });
  t.after(() => store.close());
  // One large tenant (100 users, 4 000 events, sessions of 10, half of them logouts) and a small one, as in a shared store.
  const acme = eventSeries(4000, '2024-05-01T00:00:00.000Z', { tenant: 'acme' }).map((e, i) => ({
    ...e,
    type: i % 8 < 4 ? 'login' : 'logout',
    actor: `user${i % 100}`,
    sessionId: `sess-${Math.floor(i / 10)}`,
  }));
  const globex = eventSeries(10, '2024-05-02T00:00:00.000Z', { tenant: 'globex', type: 'logout', actor: 'user7', sessionId: 'other' });
  await store.insert(acme);
  await store.insert(globex);
  const db = new Database(path, { readonly: true });
  t.after(() => db.close());

  for (const stage of ['without statistics', 'after ANALYZE']) {
    if (stage === 'after ANALYZE') {
      const writer = new Database(path);
      writer.exec('ANALYZE');
      writer.close();
    }
    for (const { query, index, expected } of CASES) {
      const { sql, params } = searchStatement(planSearch(query));
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail).join('; ');
      assert.match(plan, new RegExp(`^SEARCH audit_events USING INDEX ${escape(index)}$`), `${stage}: ${JSON.stringify(query)}`);
      // The plan is the one the store runs: its answer is every match, of that tenant only.
      const { events } = await store.search({ ...query, limit: 1000 });
      assert.equal(events.length, expected, `${stage}: ${JSON.stringify(query)}`);
      if (query.tenant) assert.ok(events.every((e) => e.tenant === query.tenant));
    }
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
