import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AuditStore } from './audit-store.js';
import { PostgresAuditStore } from './postgres-store.js';
import { SqliteAuditStore } from './sqlite-store.js';

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

const POSTGRES_URL = /^postgres(ql)?:\/\//i;
const ANY_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Why `url` cannot name an audit store, or null when it can. For config validation. */
export function storeUrlProblem(url: string): string | null {
  if (POSTGRES_URL.test(url)) {
    try {
      new URL(url);
      return null;
    } catch {
      return 'not a valid postgres:// URL';
    }
  }
  if (/^sqlite:/i.test(url)) return url.slice('sqlite:'.length) === '' ? 'sqlite: needs a file path, e.g. sqlite:audit.db' : null;
  if (ANY_URL.test(url)) return 'unsupported scheme: use postgres://…, postgresql://…, sqlite:PATH or a file path';
  return null;
}

/**
 * Where the store lives. No URL: SQLite at `${dataDir}/audit.db`. `sqlite:PATH`
 * or a bare path: SQLite there, a relative path taken from the data dir (so a
 * config does not depend on the directory auditstream was started from).
 */
export function resolveStoreLocation(url: string | undefined, dataDir: string): StoreLocation {
  if (url === undefined) return { kind: 'sqlite', path: join(dataDir, 'audit.db') };
  if (POSTGRES_URL.test(url)) return { kind: 'postgres', url };
  const path = /^sqlite:/i.test(url) ? url.slice('sqlite:'.length) : url;
  return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(dataDir, path) };
}

export interface OpenStoreOptions {
  dataDir: string;
  /** PostgreSQL connections kept at most. */
  poolSize?: number;
  logger?: Logger;
}

/** Creates the store without connecting: both backends open on first use. */
export function openAuditStore(url: string | undefined, options: OpenStoreOptions): AuditStore {
  const location = resolveStoreLocation(url, options.dataDir);
  if (location.kind === 'postgres') {
    return new PostgresAuditStore({
      url: location.url,
      ...(options.poolSize !== undefined && { poolSize: options.poolSize }),
      ...(options.logger && { logger: options.logger }),
    });
  }
  return new SqliteAuditStore({ path: location.path });
}
