import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AuditstreamConfig } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { newApiKey } from '../tenants/api-key-secret.js';
import { changeEvent, type Change } from '../tenants/change-event.js';
import { ControlConflictError } from '../tenants/control-store.js';
import { newExternalId } from '../tenants/external-id.js';
import { SCOPES, TENANT_ID_PATTERN, type ApiKeyRecord, type Scope, type Tenant, type TenantQuotas } from '../tenants/tenant.js';
import { tenantNotFound } from './auth.js';
import { HttpError } from './http-error.js';
import type { ManageLimiter } from './manage-rate-limit.js';
import { acceptJsonBodies } from './json-body.js';
import { routeSchemas } from './schemas.js';

/** Bounds on what a request may store: a name is for people, a tenant's key list for one customer's producers. */
export const MAX_NAME_CHARS = 128;
export const MAX_KEYS_PER_TENANT = 100;
/** The most a tenant or key body may take: a name, scopes and four quotas are well under a kilobyte. */
export const MAX_TENANT_BODY_BYTES = 16 * 1024;

const name = z.string().trim().min(1).max(MAX_NAME_CHARS);
const quotasPatch = z.strictObject({
  ingestEventsPerSec: z.number().positive().max(1e9).optional(),
  ingestBurst: z.number().int().positive().max(1e9).optional(),
  maxDestinations: z.number().int().nonnegative().max(10_000).optional(),
  maxBacklogBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
const createTenantBody = z.strictObject({ id: z.string().regex(TENANT_ID_PATTERN, 'must match [a-z0-9][a-z0-9-]{0,62}'), name, quotas: quotasPatch.optional() });
const patchTenantBody = z.strictObject({ name: name.optional(), quotas: quotasPatch.optional() });
const createKeyBody = z.strictObject({
  name,
  scopes: z
    .array(z.enum(SCOPES as readonly Scope[] as [Scope, ...Scope[]]))
    .min(1)
    .max(SCOPES.length)
    .refine((s) => new Set(s).size === s.length, 'must not repeat a scope'),
});

/**
 * The tenants and keys API (docs/tenants.md, "Tenants and keys"). Tenants are
 * the operator's to create, change and delete (admin keys); a tenant key with
 * `read` sees its own tenant, and one with `manage` manages its own tenant's
 * keys. The in-memory tenant directory and key ring change only after the
 * control store has the change, so what the server enforces is never ahead
 * of what survives a restart. Every change is an audit event of its tenant.
 */
export function registerTenantRoutes(api: FastifyInstance, o: { config: AuditstreamConfig; pipeline: Pipeline; logger: Logger; manageLimit: ManageLimiter }): void {
  const { pipeline, logger } = o;
  // The schemas document the routes; the handlers check bodies with zod, whose answers name the field.
  api.setValidatorCompiler(() => () => true);
  acceptJsonBodies(api, { maxBytes: MAX_TENANT_BODY_BYTES, maxDepth: o.config.server.limits.maxDepth, what: 'a tenant or key body' });
  const { store, keys, tenants, quota } = pipeline.tenancy;
  const defaults = o.config.tenants.defaultQuotas;

  const publish = async (change: Change) => {
    // The change is stored already: an audit event that cannot be journalled is logged, not a failed request.
    const result = await pipeline.router.publish([changeEvent(change)]).catch((err: unknown) => ({ ok: false as const, failed: [{ emitter: '-', reason: errorMessage(err) }] }));
    if (!result.ok) logger.warn({ change: change.action, tenant: change.tenant, failed: result.failed }, 'control-plane change event not acknowledged');
  };
  const existing = (id: string): Tenant => {
    const t = tenants.get(id);
    if (!t) throw tenantNotFound(id);
    return t;
  };

  api.post('/v1/tenants', { schema: routeSchemas.createTenant }, async (req, reply) => {
    // Without admin keys every request without a key acts as admin, for every tenant: tenant keys would isolate nothing.
    if (o.config.server.apiKeys.length === 0) {
      throw new HttpError(409, 'ADMIN_KEYS_REQUIRED', 'tenants need server.apiKeys: without them any request without a key acts as admin for every tenant; set server.apiKeys and create tenants with one of them');
    }
    const body = parse(createTenantBody, req.body);
    const now = new Date().toISOString();
    const tenant: Tenant = { id: body.id, name: body.name, externalId: newExternalId(), quotas: { ...defaults, ...definedOnly(body.quotas) }, createdAt: now, updatedAt: now };
    await conflictAs409(store.createTenant(tenant));
    tenants.set(tenant);
    await publish({ tenant: tenant.id, action: 'tenant.created', actor: actorOf(req), target: tenant.id, details: { name: tenant.name, quotas: tenant.quotas } });
    return reply.code(201).send(tenant);
  });

  api.get('/v1/tenants', { schema: routeSchemas.listTenants }, async () => ({ tenants: await store.listTenants() }));

  api.get('/v1/tenants/:tenant', { schema: routeSchemas.getTenant, config: { access: 'read' } }, async (req) => existing(tenantParam(req)));

  api.patch('/v1/tenants/:tenant', { schema: routeSchemas.updateTenant }, async (req) => {
    const current = existing(tenantParam(req));
    const body = parse(patchTenantBody, req.body);
    const updated: Tenant = {
      ...current,
      name: body.name ?? current.name,
      quotas: { ...current.quotas, ...definedOnly(body.quotas) },
      updatedAt: new Date().toISOString(),
    };
    if (!(await store.updateTenant(updated))) throw tenantNotFound(current.id);
    tenants.set(updated);
    pipeline.destinations.applyQuotas(updated);
    await publish({ tenant: current.id, action: 'tenant.updated', actor: actorOf(req), target: current.id, details: { name: updated.name, quotas: updated.quotas } });
    return updated;
  });

  api.delete('/v1/tenants/:tenant', { schema: routeSchemas.deleteTenant }, async (req, reply) => {
    const id = existing(tenantParam(req)).id;
    const { force } = req.query as { force?: string };
    if (force !== undefined && force !== 'true' && force !== 'false') throw new HttpError(400, 'BAD_REQUEST', 'force: must be true or false');
    const destinations = await store.listDestinations(id);
    // Deleting a tenant deletes its destinations and whatever they still hold: that must be asked for, not a side effect.
    if (destinations.length > 0 && force !== 'true') {
      throw new HttpError(409, 'TENANT_HAS_DESTINATIONS', `tenant "${id}" has ${destinations.length} destination(s); delete them first, or delete with ?force=true`, {
        destinations: destinations.map((d) => d.name),
      });
    }
    // The change event goes out first, while the tenant still exists to be its subject.
    await publish({ tenant: id, action: 'tenant.deleted', actor: actorOf(req), target: id, details: { destinations: destinations.map((d) => d.name) } });
    if (!(await store.deleteTenant(id))) throw tenantNotFound(id);
    tenants.delete(id);
    keys.removeTenant(id);
    quota.forget(id);
    o.manageLimit.forget(id);
    // Its destinations' rows went with the tenant; their running emitters and backlogs go now.
    await pipeline.destinations.removeTenant(id);
    return reply.code(204).send();
  });

  api.post('/v1/tenants/:tenant/keys', { schema: routeSchemas.createKey, config: { access: 'manage' } }, async (req, reply) => {
    const tenant = existing(tenantParam(req)).id;
    const body = parse(createKeyBody, req.body);
    if ((await store.listKeys(tenant)).length >= MAX_KEYS_PER_TENANT) {
      throw new HttpError(409, 'KEY_LIMIT', `tenant "${tenant}" has ${MAX_KEYS_PER_TENANT} keys, the most a tenant may have; revoke one first`);
    }
    const made = newApiKey();
    const record: ApiKeyRecord = { id: made.id, tenant, name: body.name, scopes: body.scopes, secretHash: made.secretHash, createdAt: new Date().toISOString() };
    await conflictAs409(store.createKey(record));
    keys.add(record);
    await publish({ tenant, action: 'key.created', actor: actorOf(req), target: record.id, details: { name: record.name, scopes: record.scopes } });
    return reply.code(201).send({ ...keyView(record), key: made.key });
  });

  api.get('/v1/tenants/:tenant/keys', { schema: routeSchemas.listKeys, config: { access: 'manage' } }, async (req) => {
    const tenant = existing(tenantParam(req)).id;
    return { keys: (await store.listKeys(tenant)).map(keyView) };
  });

  api.delete('/v1/tenants/:tenant/keys/:id', { schema: routeSchemas.deleteKey, config: { access: 'manage' } }, async (req, reply) => {
    const tenant = existing(tenantParam(req)).id;
    const { id } = req.params as { id: string };
    // Scoped to the tenant in the query itself: another tenant's key id is simply not found.
    if (!(await store.deleteKey(tenant, id))) throw new HttpError(404, 'KEY_NOT_FOUND', `tenant "${tenant}" has no key "${id.slice(0, 64)}"`);
    keys.remove(id);
    await publish({ tenant, action: 'key.revoked', actor: actorOf(req), target: id });
    return reply.code(204).send();
  });
}

/** A key as lists show it: never its secret or hash. */
function keyView(k: ApiKeyRecord): { id: string; name: string; scopes: string[]; createdAt: string } {
  return { id: k.id, name: k.name, scopes: k.scopes, createdAt: k.createdAt };
}

function tenantParam(req: FastifyRequest): string {
  return (req.params as { tenant: string }).tenant;
}

/** The actor of a change event: the tenant key's id, or `admin`. */
function actorOf(req: FastifyRequest): string {
  return req.principal?.kind === 'tenant' ? req.principal.keyId : 'admin';
}

/** A JSON body (none is `{}`) checked by its zod schema: 400 naming the first field that is wrong. */
function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const why = key === 'externalId' ? 'is generated by the server and cannot be set' : 'is not a field of this request';
    throw new HttpError(400, 'BAD_REQUEST', `${[...issue.path, key].join('.')}: ${why}`, { parameter: key });
  }
  const field = issue.path.join('.') || 'body';
  throw new HttpError(400, 'BAD_REQUEST', `${field}: ${issue.message}`, { parameter: field });
}

async function conflictAs409(write: Promise<void>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (err instanceof ControlConflictError) throw new HttpError(409, err.code, err.message);
    throw err;
  }
}

function definedOnly(q: Partial<TenantQuotas> | undefined): Partial<TenantQuotas> {
  return Object.fromEntries(Object.entries(q ?? {}).filter(([, v]) => v !== undefined)) as Partial<TenantQuotas>;
}
