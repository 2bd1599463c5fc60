import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ControlConflictError } from '../tenants/control-store.js';
import { DestinationConfigError, type DestinationManager } from '../pipeline/destination-manager.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { checkDestinationPolicy, checkTenantRole, DestinationNotAllowedError } from '../tenants/destination-policy.js';
import { keepRedacted, secretsCarriedToNewEndpoint } from '../tenants/destination-secrets.js';
import type { Tenant } from '../tenants/tenant.js';
import { tenantNotFound } from './auth.js';
import { RedactedUrlError } from '../tenants/url-secrets.js';
import { HttpError } from './http-error.js';
import { acceptJsonBodies } from './json-body.js';
import { routeSchemas } from './schemas.js';

/**
 * The most a destination's JSON may take. A real one is a few hundred bytes;
 * the bound keeps a tenant from storing megabytes per destination (long
 * include lists, headers) that every node holds, every change event
 * repeats and the router consults for each event.
 */
export const MAX_DESTINATION_BODY_BYTES = 64 * 1024;

/** Keys a PATCH may change without a new test: they choose events, not where they go. */
const UNTESTED_KEYS: ReadonlySet<string> = new Set(['include', 'exclude']);

type TenantParams = { tenant: string };
type DestinationParams = { tenant: string; name: string };

/**
 * Tenants' destinations over the API (docs/tenants.md#destinations): Test &
 * Add, read with state and health, change, test, pause, resume, delete.
 * Reading needs the `read` scope, every change `manage`; a tenant key
 * reaches its own tenant only (auth.ts answers 404 for any other).
 */
export function registerDestinationRoutes(parent: FastifyInstance, pipeline: Pipeline): void {
  void parent.register(async (api) => destinationRoutes(api, pipeline));
}

function destinationRoutes(api: FastifyInstance, pipeline: Pipeline): void {
  acceptJsonBodies(api, { maxBytes: MAX_DESTINATION_BODY_BYTES, maxDepth: pipeline.config.server.limits.maxDepth, what: "a destination's JSON" });
  const manager = pipeline.destinations;
  const policy = pipeline.config.tenants.destinationPolicy;
  // The in-memory directory the tenant routes keep in step with the store: no query per request.
  const tenantOf = (id: string): Tenant => {
    const tenant = pipeline.tenancy.tenants.get(id);
    if (!tenant) throw tenantNotFound(id);
    return tenant;
  };
  const allowed = async (tenant: Tenant, type: string, config: Record<string, unknown>) => {
    try {
      checkTenantRole(type, config, tenant.externalId);
      await checkDestinationPolicy(type, config, policy);
    } catch (err) {
      if (err instanceof DestinationNotAllowedError) throw new HttpError(422, err.code, err.message, { key: err.key });
      throw err;
    }
  };
  const resolved = (tenant: Tenant, name: string, type: string, config: Record<string, unknown>) => {
    try {
      return manager.resolve(tenant, name, type, config);
    } catch (err) {
      if (err instanceof DestinationConfigError) throw new HttpError(400, err.code, err.message, { problems: err.problems });
      throw err;
    }
  };

  api.get('/v1/tenants/:tenant/destinations', { config: { access: 'read' }, schema: routeSchemas.listDestinations }, async (req) => {
    const { tenant } = req.params as TenantParams;
    tenantOf(tenant);
    return { destinations: manager.list(tenant) };
  });

  // Destinations each tenant has being added: the quota check comes before the test and the save, which take
  // time, so without them concurrent Test & Adds would all pass it.
  const adding = new Map<string, number>();

  api.post('/v1/tenants/:tenant/destinations', { config: { access: 'manage' }, schema: routeSchemas.createDestination }, async (req, reply) => {
    const { tenant: id } = req.params as TenantParams;
    const tenant = tenantOf(id);
    const skipTest = skipTestOf(req);
    const { name, type, ...config } = req.body as { name: string; type: string } & Record<string, unknown>;
    if (manager.view(id, name)) throw new HttpError(409, 'CONFLICT', `tenant "${id}" has a destination named "${name}"`);
    const pending = adding.get(id) ?? 0;
    if (manager.count(id) + pending >= tenant.quotas.maxDestinations) {
      const more = pending > 0 ? ` (and ${pending} being added)` : '';
      throw new HttpError(409, 'QUOTA_EXCEEDED', `tenant "${id}" has ${manager.count(id)} destinations${more}, its quota maxDestinations (${tenant.quotas.maxDestinations}); delete one or raise the quota`);
    }
    adding.set(id, pending + 1);
    try {
      await allowed(tenant, type, config);
      const r = resolved(tenant, name, type, config);
      const steps = skipTest ? [] : await testOrFail(manager, r, type, config);
      const destination = await manager.create(tenant, name, type, config, actorOf(req));
      return reply.code(201).send({ destination, steps });
    } catch (err) {
      if (err instanceof ControlConflictError) throw new HttpError(409, err.code, err.message);
      throw err;
    } finally {
      const left = (adding.get(id) ?? 1) - 1;
      if (left > 0) adding.set(id, left);
      else adding.delete(id);
    }
  });

  api.get('/v1/tenants/:tenant/destinations/:name', { config: { access: 'read' }, schema: routeSchemas.getDestination }, async (req) => {
    const { tenant, name } = req.params as DestinationParams;
    tenantOf(tenant);
    return viewOrNotFound(manager, tenant, name);
  });

  api.patch('/v1/tenants/:tenant/destinations/:name', { config: { access: 'manage' }, schema: routeSchemas.updateDestination }, async (req) => {
    const { tenant: id, name } = req.params as DestinationParams;
    const tenant = tenantOf(id);
    const skipTest = skipTestOf(req);
    const current = viewOrNotFound(manager, id, name);
    const patch = req.body as Record<string, unknown>;
    for (const key of ['name', 'type'] as const) {
      if (key in patch && patch[key] !== current[key]) throw new HttpError(400, 'BAD_REQUEST', `${key}: a destination's ${key} cannot change; create another destination and delete this one`);
    }
    const { name: _n, type: _t, ...changes } = patch;
    const stored = manager.storedConfig(id, name)!;
    const patched = mergePatch(stored, changes);
    const carried = secretsCarriedToNewEndpoint(current.type, changes, stored, patched);
    if (carried.length > 0) {
      const error = 'the patch would send this secret somewhere new (another scheme, host or port, other Kafka brokers or another way to log in to them, or a changed url or header that names it): send it again in clear';
      throw new HttpError(400, 'DESTINATION_INVALID', `${carried.join(', ')}: ${error}`, { problems: carried.map((key) => ({ key, error })) });
    }
    const config = keptRedacted(current.type, patched, stored);
    await allowed(tenant, current.type, config);
    const r = resolved(tenant, name, current.type, config);
    const needsTest = !skipTest && Object.keys(changes).some((k) => !UNTESTED_KEYS.has(k));
    const steps = needsTest ? await testOrFail(manager, r, current.type, config) : [];
    const destination = await manager.update(tenant, name, config, actorOf(req));
    if (!destination) throw destinationNotFound(name);
    return { destination, steps };
  });

  api.post('/v1/tenants/:tenant/destinations/:name/test', { config: { access: 'manage' }, schema: routeSchemas.testDestination }, async (req) => {
    const { tenant, name } = req.params as DestinationParams;
    const owner = tenantOf(tenant);
    const current = viewOrNotFound(manager, tenant, name);
    const stored = manager.storedConfig(tenant, name)!;
    const result = await manager.test(resolved(owner, name, current.type, stored), current.type, stored);
    return { ok: result.ok, steps: result.steps };
  });

  for (const action of ['pause', 'resume'] as const) {
    api.post(
      `/v1/tenants/:tenant/destinations/:name/${action}`,
      { config: { access: 'manage' }, schema: action === 'pause' ? routeSchemas.pauseDestination : routeSchemas.resumeDestination },
      async (req) => {
        const { tenant, name } = req.params as DestinationParams;
        tenantOf(tenant);
        const view = await manager[action](tenant, name, actorOf(req));
        if (!view) throw destinationNotFound(name);
        return view;
      },
    );
  }

  api.delete('/v1/tenants/:tenant/destinations/:name', { config: { access: 'manage' }, schema: routeSchemas.deleteDestination }, async (req, reply) => {
    const { tenant, name } = req.params as DestinationParams;
    const { backlog = 'drain' } = req.query as { backlog?: 'drain' | 'discard' };
    tenantOf(tenant);
    const result = await manager.remove(tenant, name, backlog, actorOf(req));
    if (!result) throw destinationNotFound(name);
    if (result.drained || backlog === 'discard') return { deleted: true, discardedEvents: result.discardedEvents };
    const view = manager.view(tenant, name);
    // Drained between the wait and this answer: gone after all.
    if (!view) return { deleted: true, discardedEvents: 0 };
    return reply.code(202).send({ deleted: false, destination: view });
  });
}

/** The patched config with the secrets it left redacted restored; a placeholder that cannot be is a 400 naming its key. */
function keptRedacted(type: string, patched: Record<string, unknown>, stored: Record<string, unknown>): Record<string, unknown> {
  try {
    return keepRedacted(type, patched, stored);
  } catch (err) {
    if (err instanceof RedactedUrlError) throw new HttpError(400, 'DESTINATION_INVALID', err.message, { problems: [{ key: err.key, error: err.reason }] });
    throw err;
  }
}

/** The test's steps when every one passed; otherwise a 422 carrying them, nothing saved. Either way without the config's secrets. */
async function testOrFail(manager: DestinationManager, r: Parameters<DestinationManager['test']>[0], type: string, config: Record<string, unknown>) {
  const { ok, steps } = await manager.test(r, type, config);
  if (!ok) {
    const failed = steps.find((s) => !s.ok);
    throw new HttpError(422, 'TEST_FAILED', `the destination did not pass its test${failed ? `: ${failed.step}: ${failed.detail ?? 'failed'}` : ''}; nothing was saved`, { steps });
  }
  return steps;
}

function skipTestOf(req: FastifyRequest): boolean {
  const { skipTest = false } = req.query as { skipTest?: boolean };
  if (skipTest && req.principal?.kind === 'tenant') throw new HttpError(403, 'FORBIDDEN', 'skipTest is for admin keys only: a tenant destination is tested before it is saved');
  return skipTest;
}

/** Who made a change, as its audit event names them: the tenant key's id, or `admin`. */
function actorOf(req: FastifyRequest): string {
  return req.principal?.kind === 'tenant' ? req.principal.keyId : 'admin';
}

function viewOrNotFound(manager: DestinationManager, tenant: string, name: string) {
  const view = manager.view(tenant, name);
  if (!view) throw destinationNotFound(name);
  return view;
}

function destinationNotFound(name: string): HttpError {
  return new HttpError(404, 'DESTINATION_NOT_FOUND', `no destination "${name.slice(0, 64)}"`);
}

/** RFC 7396 JSON merge patch: objects merge key by key, null removes, anything else replaces. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isPlainObject(v) && isPlainObject(out[k])) out[k] = mergePatch(out[k], v);
    else out[k] = v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
