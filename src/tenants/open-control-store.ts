import { join } from 'node:path';
import type { AuditstreamConfig } from '../config/schema.js';
import type { ControlStore } from './control-store.js';
import { SqliteControlStore } from './sqlite-control-store.js';

/** The control store `tenants.controlStore` names: `<dataDir>/control.sqlite` when embedded. */
export async function openControlStore(config: AuditstreamConfig['tenants'], dataDir: string): Promise<ControlStore> {
  if (config.controlStore === 'embedded') return new SqliteControlStore(join(dataDir, 'control.sqlite'));
  throw new Error('tenants.controlStore.postgres: not available yet');
}
