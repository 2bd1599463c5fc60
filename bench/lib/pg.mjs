import pg from 'pg';

/** The machine's PostgreSQL (trust auth); override with AUDITSTREAM_BENCH_PG_URL. */
export const PG_SERVER = process.env.AUDITSTREAM_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

async function admin(sql) {
  const client = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database and returns its URL and a drop() that removes it (FORCE: ends leftover connections). */
export async function createDatabase(prefix) {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await admin(`CREATE DATABASE ${name}`);
  return { url: `${PG_SERVER}/${name}`, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Null when PostgreSQL answers, else why not (so a benchmark can skip it and say so). */
export async function pgProblem() {
  try {
    await admin('SELECT 1');
    return null;
  } catch (err) {
    return `PostgreSQL at ${PG_SERVER} is not usable: ${err.message}`;
  }
}
