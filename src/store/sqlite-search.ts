import { likePattern, type FilterColumn, type SearchPlan } from './search-plan.js';
import { COLUMNS } from './sqlite-schema.js';

/**
 * Filter columns with an index of their own, most selective first: a session
 * is a few events, an actor those of one user (of one tenant), a tenant a
 * share of the store, a type an eighth of it or more. A tenant comes before a
 * type because a tenant of a shared store is usually a small share, while no
 * type is.
 */
const INDEXED: readonly FilterColumn[] = ['session_id', 'actor', 'tenant', 'type'];

/**
 * The SELECT of a search, newest first, one row beyond the page (whether
 * another page exists, without a count). Without statistics SQLite takes the
 * index created last among equal candidates: for `tenant` with `actor` that
 * was the tenant index, which walks the tenant's every event to find one
 * user's (p50 51 to 68 ms against 0.9 ms at 200 000 events, bench/store.mjs).
 * So only the most selective indexed column of the search is compared bare;
 * the others are written `+column`, which SQLite cannot use an index for,
 * statistics or not.
 */
export function searchStatement(plan: SearchPlan): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const lead = INDEXED.find((column) => plan.equals.some((e) => e.column === column));
  for (const { column, value } of plan.equals) {
    where.push(column !== lead && INDEXED.includes(column) ? `+${column} = ?` : `${column} = ?`);
    params.push(value);
  }
  if (plan.fromMs !== undefined) {
    where.push('time_ms >= ?');
    params.push(plan.fromMs);
  }
  if (plan.toMs !== undefined) {
    where.push('time_ms < ?');
    params.push(plan.toMs);
  }
  if (plan.after) {
    where.push('(time_ms, id, source) < (?, ?, ?)');
    params.push(plan.after.timeMs, plan.after.id, plan.after.source);
  }
  if (plan.text !== undefined) {
    // SQLite's LIKE ignores ASCII case, matching PostgreSQL's ILIKE for the common case.
    where.push(`message LIKE ? ESCAPE '\\'`);
    params.push(likePattern(plan.text));
  }
  params.push(plan.limit + 1);
  const sql =
    `SELECT ${COLUMNS}, time_ms FROM audit_events` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ' ORDER BY time_ms DESC, id DESC, source DESC LIMIT ?';
  return { sql, params };
}
