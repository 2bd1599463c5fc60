import Database from 'better-sqlite3';
import { preparePrivateDatabase } from './private-files.js';

export interface PrivateDatabaseOptions {
  /** FULL when a lost commit would lose or repeat work; NORMAL when the state can be rebuilt or redone. */
  synchronous: 'FULL' | 'NORMAL';
  /** Idempotent DDL (CREATE … IF NOT EXISTS) run at open. */
  schema: string;
}

/**
 * A component's own SQLite state file: private modes, WAL, the given
 * durability and schema. A failing open closes the handle instead of leaking it.
 */
export function openPrivateDatabase(file: string, opts: PrivateDatabaseOptions): Database.Database {
  preparePrivateDatabase(file);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    db.exec(opts.schema);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
