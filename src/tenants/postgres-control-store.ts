import pg from 'pg';
import { errorMessage } from '../core/errors.js';
import { applyPostgresMigrations, type PostgresMigration } from '../store/postgres-migrations.js';
import { ControlConflictError, type ControlStore } from './control-store.js';
import type { ApiKeyRecord, DestinationRecord, Scope, Tenant, TenantQuotas } from './tenant.js';

/**
 * Versioned migrations, each applied once in its own transaction and recorded
 * in control_schema_migrations. Append only: a released migration is never
 * edited, a later one changes what it made. The table is not `schema_migrations`
 * so that the control store and the audit store can share one database.
 */
const MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'tenants, api_keys, destinations',
    sql: `
      CREATE TABLE tenants (
        id text COLLATE "C" PRIMARY KEY, name text NOT NULL, external_id text NOT NULL UNIQUE, quotas jsonb NOT NULL,
        created_at text NOT NULL, updated_at text NOT NULL);
      CREATE TABLE api_keys (
        id text COLLATE "C" PRIMARY KEY, tenant text COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, name text NOT NULL,
        scopes jsonb NOT NULL, secret_hash bytea NOT NULL, created_at text NOT NULL);
      CREATE INDEX api_keys_tenant ON api_keys (tenant);
      CREATE TABLE destinations (
        tenant text COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, name text COLLATE "C" NOT NULL, type text NOT NULL,
        config jsonb NOT NULL, paused boolean NOT NULL, created_at text NOT NULL, updated_at text NOT NULL,
        PRIMARY KEY (tenant, name));
    `,
  },
];

interface TenantRow {
  id: string;
  name: string;
  external_id: string;
  quotas: TenantQuotas;
  created_at: string;
  updated_at: string;
}
interface KeyRow {
  id: string;
  tenant: string;
  name: string;
  scopes: Scope[];
  secret_hash: Buffer;
  created_at: string;
}
interface DestinationRow {
  tenant: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
  paused: boolean;
  created_at: string;
  updated_at: string;
}

/**
 * The control store in PostgreSQL (`tenants.controlStore.postgres`), for
 * several nodes sharing tenants, keys and destinations. Opened and migrated
 * before the server starts: a server that cannot read its tenants cannot
 * check a tenant key, so it does not start half-able.
 */
export class PostgresControlStore implements ControlStore {
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {}

  static async open(connectionString: string): Promise<PostgresControlStore> {
    const pool = new pg.Pool({ connectionString, max: 4, connectionTimeoutMillis: 10_000, query_timeout: 30_000, keepAlive: true });
    // An idle connection dropped by the server emits 'error' on the pool; unhandled it would crash the process.
    // The next query fails on its own and says why.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const store = new PostgresControlStore(pool);
    try {
      await store.migrate();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(`tenants.controlStore.postgres: cannot open the control store: ${errorMessage(err)}`, { cause: err });
    }
    return store;
  }

  async listTenants(): Promise<Tenant[]> {
    return (await this.pool.query<TenantRow>('SELECT * FROM tenants ORDER BY id')).rows.map(tenantOf);
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const [row] = (await this.pool.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [id])).rows;
    return row ? tenantOf(row) : undefined;
  }

  async createTenant(t: Tenant): Promise<void> {
    await conflictAs(`tenant "${t.id}" exists`, () =>
      this.pool.query('INSERT INTO tenants (id, name, external_id, quotas, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        t.id,
        t.name,
        t.externalId,
        JSON.stringify(t.quotas),
        t.createdAt,
        t.updatedAt,
      ]),
    );
  }

  async updateTenant(t: Tenant): Promise<boolean> {
    const r = await this.pool.query('UPDATE tenants SET name = $1, quotas = $2, updated_at = $3 WHERE id = $4', [t.name, JSON.stringify(t.quotas), t.updatedAt, t.id]);
    return (r.rowCount ?? 0) > 0;
  }

  async deleteTenant(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM tenants WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async listKeys(tenant: string): Promise<ApiKeyRecord[]> {
    return (await this.pool.query<KeyRow>('SELECT * FROM api_keys WHERE tenant = $1 ORDER BY created_at, id', [tenant])).rows.map(keyOf);
  }

  async allKeys(): Promise<ApiKeyRecord[]> {
    return (await this.pool.query<KeyRow>('SELECT * FROM api_keys')).rows.map(keyOf);
  }

  async createKey(k: ApiKeyRecord): Promise<void> {
    await conflictAs(`key id "${k.id}" exists`, () =>
      this.pool.query('INSERT INTO api_keys (id, tenant, name, scopes, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        k.id,
        k.tenant,
        k.name,
        JSON.stringify(k.scopes),
        k.secretHash,
        k.createdAt,
      ]),
    );
  }

  async deleteKey(tenant: string, id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM api_keys WHERE tenant = $1 AND id = $2', [tenant, id])).rowCount ?? 0) > 0;
  }

  async listDestinations(tenant: string): Promise<DestinationRecord[]> {
    return (await this.pool.query<DestinationRow>('SELECT * FROM destinations WHERE tenant = $1 ORDER BY name', [tenant])).rows.map(destinationOf);
  }

  async allDestinations(): Promise<DestinationRecord[]> {
    return (await this.pool.query<DestinationRow>('SELECT * FROM destinations ORDER BY tenant, name')).rows.map(destinationOf);
  }

  async getDestination(tenant: string, name: string): Promise<DestinationRecord | undefined> {
    const [row] = (await this.pool.query<DestinationRow>('SELECT * FROM destinations WHERE tenant = $1 AND name = $2', [tenant, name])).rows;
    return row ? destinationOf(row) : undefined;
  }

  async createDestination(d: DestinationRecord): Promise<void> {
    await conflictAs(`tenant "${d.tenant}" has a destination named "${d.name}"`, () =>
      this.pool.query('INSERT INTO destinations (tenant, name, type, config, paused, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        d.tenant,
        d.name,
        d.type,
        JSON.stringify(d.config),
        d.paused,
        d.createdAt,
        d.updatedAt,
      ]),
    );
  }

  async updateDestination(d: DestinationRecord): Promise<boolean> {
    const r = await this.pool.query('UPDATE destinations SET type = $1, config = $2, paused = $3, updated_at = $4 WHERE tenant = $5 AND name = $6', [
      d.type,
      JSON.stringify(d.config),
      d.paused,
      d.updatedAt,
      d.tenant,
      d.name,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async deleteDestination(tenant: string, name: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM destinations WHERE tenant = $1 AND name = $2', [tenant, name])).rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Under an advisory lock, so several nodes starting at once migrate the database once. */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await applyPostgresMigrations(
        client,
        'control_schema_migrations',
        MIGRATIONS,
        (current, latest) => new Error(`the control store is at schema version ${current}, newer than this release knows (${latest}): run a newer auditstream`),
      );
    } finally {
      client.release();
    }
  }
}

async function conflictAs(message: string, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (err) {
    // 23505: unique_violation.
    if ((err as { code?: string }).code === '23505') throw new ControlConflictError(message);
    throw err;
  }
}

function tenantOf(r: TenantRow): Tenant {
  return { id: r.id, name: r.name, externalId: r.external_id, quotas: r.quotas, createdAt: r.created_at, updatedAt: r.updated_at };
}

function keyOf(r: KeyRow): ApiKeyRecord {
  return { id: r.id, tenant: r.tenant, name: r.name, scopes: r.scopes, secretHash: r.secret_hash, createdAt: r.created_at };
}

function destinationOf(r: DestinationRow): DestinationRecord {
  return { tenant: r.tenant, name: r.name, type: r.type, config: r.config, paused: r.paused, createdAt: r.created_at, updatedAt: r.updated_at };
}
