import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AuditstreamConfig } from '../config/schema.js';
import { HttpError } from './http-error.js';

/** One entry of `server.apiKeys`: a key alone, or a key with what it sets for the producers that use it. */
export type ApiKeyEntry = AuditstreamConfig['server']['apiKeys'][number];
/** The key a request was let in with, in the object form whichever form the config used. */
export type ApiKey = Exclude<ApiKeyEntry, string>;

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
  }
  interface FastifyRequest {
    /** The key the request was let in with; undefined when no `server.apiKeys` are set or the route is public. */
    apiKey: ApiKey | undefined;
  }
}

/** Bearer API keys (`server.apiKeys`). Compared in constant time, as hashes, so length leaks nothing. Answers with the key that matched. */
export function bearerChecker(apiKeys: readonly ApiKeyEntry[]): ((authorization: string | undefined) => ApiKey) | undefined {
  if (apiKeys.length === 0) return undefined;
  const keys = apiKeys.map((k) => (typeof k === 'string' ? { key: k } : k));
  const digests = keys.map((k) => createHash('sha256').update(k.key).digest());
  return (authorization) => {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!m) throw new HttpError(401, 'UNAUTHORIZED', 'missing "Authorization: Bearer <api key>" header');
    const d = createHash('sha256').update(m[1]!.trim()).digest();
    // Every digest is compared, even after a match, so the time taken does not tell which entry matched.
    let matched: ApiKey | undefined;
    for (let i = 0; i < digests.length; i++) if (timingSafeEqual(digests[i]!, d) && matched === undefined) matched = keys[i];
    if (matched === undefined) throw new HttpError(401, 'UNAUTHORIZED', 'the API key is not valid');
    return matched;
  };
}

/**
 * Requires a key on every route the router matched unless the route is
 * marked `config: { public: true }`. Deciding on the matched route, never on
 * the URL text, means no spelling of a path (percent-encoded, absolute-form,
 * dot segments, `;`, doubled or trailing slashes) can reach a handler the
 * check did not see. A route marked `authenticatedBy` is skipped here because
 * its own onRequest hook, which runs after this one, refuses it without its
 * credential. Must be the first onRequest hook.
 */
export function requireApiKeys(app: FastifyInstance, apiKeys: readonly ApiKeyEntry[]): void {
  app.decorateRequest('apiKey', undefined);
  const checkKey = bearerChecker(apiKeys);
  if (!checkKey) return;
  app.addHook('onRequest', async (req) => {
    // No route matched: the 404 says only that, and the documented route list is no secret.
    if (req.is404 || req.routeOptions.config.public === true || req.routeOptions.config.authenticatedBy !== undefined) return;
    req.apiKey = checkKey(req.headers.authorization);
  });
}
