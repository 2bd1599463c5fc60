/**
 * A fresh database on the machine's PostgreSQL (127.0.0.1:5432, user postgres,
 * trust auth) for one test, dropped when the test ends.
 */
import type { TestContext } from 'node:test';
import pg from 'pg';

const SERVER = process.env.AUDITSTREAM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

export interface PgDatabase {
  url: string;
  /** Registers a store to close before the database is dropped, so no connection is cut while in use. */
  own<T extends { close(): Promise<void> }>(closable: T): T;
}

export async function createPgDatabase(t: TestContext): Promise<PgDatabase> {
  const name = `auditstream_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await admin(`CREATE DATABASE ${name}`);
  const owned: { close(): Promise<void> }[] = [];
  t.after(async () => {
    await Promise.allSettled(owned.map((c) => c.close()));
    // FORCE: a connection the test left open must not keep the database alive.
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return {
    url: `${SERVER}/${name}`,
    own(closable) {
      owned.push(closable);
      return closable;
    },
  };
}

/** Runs one statement on the database `url` (the test's independent view of the store). */
export async function queryPg<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function admin(sql: string): Promise<unknown> {
  return queryPg(`${SERVER}/postgres`, sql);
}
