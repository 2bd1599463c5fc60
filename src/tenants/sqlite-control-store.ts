import type Database from 'better-sqlite3';
import { openPrivateDatabase } from '../core/private-database.js';
import { ControlConflictError, type ControlStore } from './control-store.js';
import type { ApiKeyRecord, DestinationRecord, Scope, Tenant } from './tenant.js';

/**
 * Versioned migrations, applied in order inside one transaction each; the
 * version reached is PRAGMA user_version. Append only: a released migration
 * is never edited, a later one changes what it made.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tenants (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, external_id TEXT NOT NULL UNIQUE, quotas TEXT NOT NULL,
     created_at TEXT NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, name TEXT NOT NULL,
     scopes TEXT NOT NULL, secret_hash BLOB NOT NULL, created_at TEXT NOT NULL) WITHOUT ROWID;
   CREATE INDEX api_keys_tenant ON api_keys (tenant);
   CREATE TABLE destinations (
     tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, name TEXT NOT NULL, type TEXT NOT NULL,
     config TEXT NOT NULL, paused INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
     PRIMARY KEY (tenant, name)) WITHOUT ROWID;`,
];

interface TenantRow {
  id: string;
  name: string;
  external_id: string;
  quotas: string;
  created_at: string;
  updated_at: string;
}
interface KeyRow {
  id: string;
  tenant: string;
  name: string;
  scopes: string;
  secret_hash: Buffer;
  created_at: string;
}
interface DestinationRow {
  tenant: string;
  name: string;
  type: string;
  config: string;
  paused: number;
  created_at: string;
  updated_at: string;
}

/** The embedded control store: `<dataDir>/control.sqlite`, synchronous=FULL (a lost commit would forget a key or destination a user was told exists). */
export class SqliteControlStore implements ControlStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = openPrivateDatabase(file, { synchronous: 'FULL', schema: 'PRAGMA foreign_keys = ON' });
    migrate(this.db);
  }

  async listTenants(): Promise<Tenant[]> {
    return (this.db.prepare('SELECT * FROM tenants ORDER BY id').all() as TenantRow[]).map(tenantOf);
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const row = this.db.prepare('SELECT * FROM tenants WHERE id = ?').get(id) as TenantRow | undefined;
    return row ? tenantOf(row) : undefined;
  }

  async createTenant(t: Tenant): Promise<void> {
    try {
      this.db
        .prepare('INSERT INTO tenants (id, name, external_id, quotas, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(t.id, t.name, t.externalId, JSON.stringify(t.quotas), t.createdAt, t.updatedAt);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ControlConflictError(`tenant "${t.id}" exists`);
      throw err;
    }
  }

  async updateTenant(t: Tenant): Promise<boolean> {
    return this.db.prepare('UPDATE tenants SET name = ?, quotas = ?, updated_at = ? WHERE id = ?').run(t.name, JSON.stringify(t.quotas), t.updatedAt, t.id).changes > 0;
  }

  async deleteTenant(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM tenants WHERE id = ?').run(id).changes > 0;
  }

  async listKeys(tenant: string): Promise<ApiKeyRecord[]> {
    return (this.db.prepare('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_at, id').all(tenant) as KeyRow[]).map(keyOf);
  }

  async allKeys(): Promise<ApiKeyRecord[]> {
    return (this.db.prepare('SELECT * FROM api_keys').all() as KeyRow[]).map(keyOf);
  }

  async createKey(k: ApiKeyRecord): Promise<void> {
    try {
      this.db
        .prepare('INSERT INTO api_keys (id, tenant, name, scopes, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(k.id, k.tenant, k.name, JSON.stringify(k.scopes), k.secretHash, k.createdAt);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ControlConflictError(`key id "${k.id}" exists`);
      throw err;
    }
  }

  async deleteKey(tenant: string, id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM api_keys WHERE tenant = ? AND id = ?').run(tenant, id).changes > 0;
  }

  async listDestinations(tenant: string): Promise<DestinationRecord[]> {
    return (this.db.prepare('SELECT * FROM destinations WHERE tenant = ? ORDER BY name').all(tenant) as DestinationRow[]).map(destinationOf);
  }

  async allDestinations(): Promise<DestinationRecord[]> {
    return (this.db.prepare('SELECT * FROM destinations ORDER BY tenant, name').all() as DestinationRow[]).map(destinationOf);
  }

  async getDestination(tenant: string, name: string): Promise<DestinationRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM destinations WHERE tenant = ? AND name = ?').get(tenant, name) as DestinationRow | undefined;
    return row ? destinationOf(row) : undefined;
  }

  async createDestination(d: DestinationRecord): Promise<void> {
    try {
      this.db
        .prepare('INSERT INTO destinations (tenant, name, type, config, paused, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(d.tenant, d.name, d.type, JSON.stringify(d.config), d.paused ? 1 : 0, d.createdAt, d.updatedAt);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ControlConflictError(`tenant "${d.tenant}" has a destination named "${d.name}"`);
      throw err;
    }
  }

  async updateDestination(d: DestinationRecord): Promise<boolean> {
    return (
      this.db
        .prepare('UPDATE destinations SET type = ?, config = ?, paused = ?, updated_at = ? WHERE tenant = ? AND name = ?')
        .run(d.type, JSON.stringify(d.config), d.paused ? 1 : 0, d.updatedAt, d.tenant, d.name).changes > 0
    );
  }

  async deleteDestination(tenant: string, name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM destinations WHERE tenant = ? AND name = ?').run(tenant, name).changes > 0;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the control store is at schema version ${current}, newer than this release knows (${MIGRATIONS.length}): run a newer auditstream`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function tenantOf(r: TenantRow): Tenant {
  return { id: r.id, name: r.name, externalId: r.external_id, quotas: JSON.parse(r.quotas) as Tenant['quotas'], createdAt: r.created_at, updatedAt: r.updated_at };
}

function keyOf(r: KeyRow): ApiKeyRecord {
  return { id: r.id, tenant: r.tenant, name: r.name, scopes: JSON.parse(r.scopes) as Scope[], secretHash: r.secret_hash, createdAt: r.created_at };
}

function destinationOf(r: DestinationRow): DestinationRecord {
  return {
    tenant: r.tenant,
    name: r.name,
    type: r.type,
    config: JSON.parse(r.config) as Record<string, unknown>,
    paused: r.paused === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
