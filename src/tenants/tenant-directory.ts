import type { Tenant } from './tenant.js';

/**
 * Every tenant, in memory: ingest checks the tenant an event names, and its
 * quota, without a query per request. Loaded from the control store at start;
 * the tenant routes update it after each write to the store succeeds.
 */
export class TenantDirectory {
  private readonly byId = new Map<string, Tenant>();

  constructor(tenants: Iterable<Tenant> = []) {
    for (const t of tenants) this.set(t);
  }

  set(tenant: Tenant): void {
    this.byId.set(tenant.id, tenant);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  get(id: string): Tenant | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }
}
