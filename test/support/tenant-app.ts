import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { newApiKey } from '../../src/tenants/api-key-secret.js';
import { newExternalId } from '../../src/tenants/external-id.js';
import type { Scope, Tenant } from '../../src/tenants/tenant.js';
import { tempDir } from './temp.js';

/**
 * The real app on a real pipeline, listening on loopback, with a `tenants`
 * config block. Tenants and keys are put straight into the pipeline's control
 * store and key ring, as the tenant routes would.
 */
export async function startTenantApp(t: TestContext, opts: { adminKey: string; tenants?: Record<string, unknown> }) {
  const dataDir = await tempDir(t);
  const config = parseConfig(configSchema, { dataDir, server: { listen: '127.0.0.1:0', apiKeys: [opts.adminKey] }, tenants: opts.tenants ?? {} }, '');
  const logger = pino({ level: 'silent' });
  const pipeline = await Pipeline.start(config, logger);
  t.after(() => pipeline.stop(1000));
  const app = buildApp({ config, pipeline, search: pipeline.search, logger });
  t.after(() => app.close());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const addTenant = async (id: string): Promise<Tenant> => {
    const now = new Date().toISOString();
    const tenant: Tenant = { id, name: id, externalId: newExternalId(), quotas: config.tenants.defaultQuotas, createdAt: now, updatedAt: now };
    await pipeline.tenancy.store.createTenant(tenant);
    pipeline.tenancy.tenants.set(tenant);
    return tenant;
  };
  /** A tenant key with these scopes: the whole key, to send as a bearer. */
  const addKey = async (tenant: string, scopes: Scope[]): Promise<string> => {
    const k = newApiKey();
    const record = { id: k.id, tenant, name: scopes.join('+'), scopes, secretHash: k.secretHash, createdAt: new Date().toISOString() };
    await pipeline.tenancy.store.createKey(record);
    pipeline.tenancy.keys.add(record);
    return k.key;
  };
  return { url, pipeline, addTenant, addKey };
}
