import type { ApiKeyRecord, DestinationRecord, Tenant } from './tenant.js';

/**
 * Where tenants, their keys and their destinations live: SQLite in the data
 * directory by default (sqlite-control-store.ts); PostgreSQL when several
 * nodes share them. Writes are durable when the promise resolves. Every
 * method names the tenant it acts on, so no call can reach another tenant's rows.
 */
export interface ControlStore {
  listTenants(): Promise<Tenant[]>;
  getTenant(id: string): Promise<Tenant | undefined>;
  /** Throws ControlConflictError when the id exists. */
  createTenant(t: Tenant): Promise<void>;
  /** Replaces name and quotas; false when no such tenant. */
  updateTenant(t: Tenant): Promise<boolean>;
  /** Deletes the tenant with its keys and destinations; false when no such tenant. */
  deleteTenant(id: string): Promise<boolean>;

  listKeys(tenant: string): Promise<ApiKeyRecord[]>;
  /** Every key of every tenant: the server holds them in memory to check requests without a query. */
  allKeys(): Promise<ApiKeyRecord[]>;
  createKey(k: ApiKeyRecord): Promise<void>;
  /** False when the tenant has no such key. */
  deleteKey(tenant: string, id: string): Promise<boolean>;

  listDestinations(tenant: string): Promise<DestinationRecord[]>;
  /** Every tenant's destinations: what the pipeline starts with. */
  allDestinations(): Promise<DestinationRecord[]>;
  getDestination(tenant: string, name: string): Promise<DestinationRecord | undefined>;
  /** Throws ControlConflictError when the tenant has a destination of that name. */
  createDestination(d: DestinationRecord): Promise<void>;
  /** Replaces type, config and paused; false when no such destination. */
  updateDestination(d: DestinationRecord): Promise<boolean>;
  deleteDestination(tenant: string, name: string): Promise<boolean>;

  close(): Promise<void>;
}

/** A create that would overwrite: the id or name is taken. */
export class ControlConflictError extends Error {
  readonly code = 'CONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'ControlConflictError';
  }
}
