import { join } from 'node:path';
import type { AuditstreamConfig } from '../config/schema.js';
import type { ControlStore } from './control-store.js';
import { SqliteControlStore } from './sqlite-control-store.js';

/** The control store `tenants.controlStore` names: `<dataDir>/control.sqlite` when embedded, else the PostgreSQL database. */
export async function openControlStore(config: AuditstreamConfig['tenants'], dataDir: string): Promise<ControlStore> {
  if (config.controlStore === 'embedded') return new SqliteControlStore(join(dataDir, 'control.sqlite'));
  // Imported here, not at the top: pg loads only on servers that use PostgreSQL.
  const { PostgresControlStore } = await import('./postgres-control-store.js');
  return PostgresControlStore.open(config.controlStore.postgres.connectionString);
}
