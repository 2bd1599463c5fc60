import { parseApiKey, secretMatches } from './api-key-secret.js';
import type { ApiKeyRecord } from './tenant.js';

/**
 * Every tenant key, in memory, so a request is checked without a query and a
 * revoked key stops working at once (the route that revokes it also removes it here).
 */
export class KeyRing {
  private readonly byId = new Map<string, ApiKeyRecord>();

  constructor(records: Iterable<ApiKeyRecord> = []) {
    for (const r of records) this.add(r);
  }

  add(record: ApiKeyRecord): void {
    this.byId.set(record.id, record);
  }

  remove(id: string): void {
    this.byId.delete(id);
  }

  removeTenant(tenant: string): void {
    for (const [id, r] of this.byId) if (r.tenant === tenant) this.byId.delete(id);
  }

  /** The record of a presented key when it is a tenant key (`ask_…`) with the right secret. */
  lookup(key: string): ApiKeyRecord | undefined {
    const parsed = parseApiKey(key);
    if (!parsed) return undefined;
    const record = this.byId.get(parsed.id);
    return record && secretMatches(parsed.secret, record.secretHash) ? record : undefined;
  }

  /** Whether a presented key is in the tenant key format, valid or not. */
  static isTenantKey(key: string): boolean {
    return parseApiKey(key) !== undefined;
  }
}
