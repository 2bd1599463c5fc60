import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditstreamConfig } from '../config/schema.js';
import { KeyRing } from '../tenants/key-ring.js';
import type { Scope } from '../tenants/tenant.js';
import { HttpError } from './http-error.js';

/** One entry of `server.apiKeys`: a key alone, or a key with what it sets for the producers that use it. */
export type ApiKeyEntry = AuditstreamConfig['server']['apiKeys'][number];
/** The key a request was let in with, in the object form whichever form the config used. */
export type ApiKey = Exclude<ApiKeyEntry, string>;

/**
 * Who a request acts as. An admin key (`server.apiKeys`) acts for every
 * tenant; with no `server.apiKeys` the server is open and a request without
 * a key is admin too. A tenant key acts for its tenant, within its scopes.
 */
export type Principal =
  | { kind: 'admin'; key: ApiKey | undefined }
  | { kind: 'tenant'; keyId: string; tenant: string; scopes: ReadonlySet<Scope> };

/** What a route needs: a scope a tenant key may hold, or an admin key. */
export type RouteAccess = Scope | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without an API key. Every route not marked so needs one when `server.apiKeys` is set. */
    public?: boolean;
    /**
     * The route checks a credential of its own instead of an API key: a
     * Firehose source's route takes the X-Amz-Firehose-Access-Key that Firehose
     * sends, since Firehose cannot send a bearer key.
     */
    authenticatedBy?: 'firehose-access-key';
    /** The scope a tenant key needs here; a route that names none is for admin keys only. */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The admin key the request was let in with; undefined for tenant keys, public routes and an open server. */
    apiKey: ApiKey | undefined;
    /** Who the request acts as; undefined on public routes and routes with their own credential. */
    principal: Principal | undefined;
  }
}

/** Bearer API keys (`server.apiKeys`). Compared in constant time, as hashes, so length leaks nothing. Answers with the key that matched. */
export function bearerChecker(apiKeys: readonly ApiKeyEntry[]): ((key: string) => ApiKey | undefined) | undefined {
  if (apiKeys.length === 0) return undefined;
  const keys = apiKeys.map((k) => (typeof k === 'string' ? { key: k } : k));
  const digests = keys.map((k) => createHash('sha256').update(k.key).digest());
  return (key) => {
    const d = createHash('sha256').update(key).digest();
    // Every digest is compared, even after a match, so the time taken does not tell which entry matched.
    let matched: ApiKey | undefined;
    for (let i = 0; i < digests.length; i++) if (timingSafeEqual(digests[i]!, d) && matched === undefined) matched = keys[i];
    return matched;
  };
}

/**
 * Decides every request on the route the router matched, never on the URL
 * text, so no spelling of a path (percent-encoded, absolute-form, dot
 * segments, `;`, doubled or trailing slashes) can reach a handler the check
 * did not see. In order: who the key is (401 without a valid one); a tenant
 * key on another tenant's `:tenant` route gets 404, as if the tenant did not
 * exist; then the route's access (403 naming the scope missing). Routes marked
 * `public` skip it all; routes marked `authenticatedBy` check their own
 * credential in their own hook, which runs after this one. Must be the first onRequest hook.
 */
export function requireApiKeys(app: FastifyInstance, apiKeys: readonly ApiKeyEntry[], keyRing: KeyRing): void {
  app.decorateRequest('apiKey', undefined);
  app.decorateRequest('principal', undefined);
  const checkAdminKey = bearerChecker(apiKeys);
  app.addHook('onRequest', async (req) => {
    // No route matched: the 404 says only that, and the documented route list is no secret.
    if (req.is404 || req.routeOptions.config.public === true || req.routeOptions.config.authenticatedBy !== undefined) return;
    const principal = identify(req, checkAdminKey, keyRing);
    req.principal = principal;
    if (principal.kind === 'admin') {
      req.apiKey = principal.key;
      return;
    }
    const { tenant } = (req.params ?? {}) as { tenant?: string };
    if (tenant !== undefined && tenant !== principal.tenant) throw tenantNotFound(tenant);
    const access = req.routeOptions.config.access ?? 'admin';
    if (access === 'admin') throw new HttpError(403, 'FORBIDDEN', 'this route needs an admin key (one of server.apiKeys); a tenant key cannot use it');
    if (!principal.scopes.has(access)) throw new HttpError(403, 'FORBIDDEN', `this key lacks the "${access}" scope this route needs (it has: ${[...principal.scopes].join(', ') || 'none'})`);
  });
}

function identify(req: FastifyRequest, checkAdminKey: ((key: string) => ApiKey | undefined) | undefined, keyRing: KeyRing): Principal {
  const header = req.headers.authorization;
  if (header === undefined && checkAdminKey === undefined) return { kind: 'admin', key: undefined };
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) throw new HttpError(401, 'UNAUTHORIZED', 'missing "Authorization: Bearer <api key>" header');
  const presented = m[1]!.trim();
  if (KeyRing.isTenantKey(presented)) {
    const record = keyRing.lookup(presented);
    if (!record) throw new HttpError(401, 'UNAUTHORIZED', 'the API key is not valid (unknown or revoked)');
    return { kind: 'tenant', keyId: record.id, tenant: record.tenant, scopes: new Set(record.scopes) };
  }
  // An open server (no server.apiKeys) lets any other bearer through as before: only tenant keys narrow it.
  if (checkAdminKey === undefined) return { kind: 'admin', key: undefined };
  const admin = checkAdminKey(presented);
  if (admin === undefined) throw new HttpError(401, 'UNAUTHORIZED', 'the API key is not valid');
  return { kind: 'admin', key: admin };
}

/** The answer for a tenant the caller may not see, whether or not it exists: nothing tells the two apart. */
export function tenantNotFound(tenant: string): HttpError {
  return new HttpError(404, 'TENANT_NOT_FOUND', `no tenant "${tenant.slice(0, 64)}"`);
}

/**
 * The tenant a request acts for on a route without `:tenant`: a tenant key's
 * own, or for an admin key the one named by `?tenant=` (undefined: all tenants).
 */
export function tenantScopeOf(req: FastifyRequest, named?: string): string | undefined {
  const p = req.principal;
  if (p?.kind === 'tenant') return p.tenant;
  return named;
}
