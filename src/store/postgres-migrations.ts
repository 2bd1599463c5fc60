import type pg from 'pg';

export interface PostgresMigration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Applies the migrations not yet recorded in `table`, in one transaction under
 * an advisory lock keyed by the table's name: several processes opening the
 * same database at once migrate it once, the others wait and find nothing to
 * do. Migrations are append only; `newer` builds the error for a database a
 * newer release already migrated.
 */
export async function applyPostgresMigrations(
  client: pg.PoolClient,
  table: string,
  migrations: readonly PostgresMigration[],
  newer: (current: number, latest: number) => Error,
): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('auditstream.${table}'))`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${table}`);
    const current = rows[0]?.v ?? 0;
    const latest = migrations[migrations.length - 1]!.version;
    if (current > latest) throw newer(current, latest);
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query(`INSERT INTO ${table} (version, description) VALUES ($1, $2)`, [m.version, m.description]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
