import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './http-error.js';

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
}

/** Bearer API keys (`server.apiKeys`). Compared in constant time, as hashes, so length leaks nothing. */
export function bearerChecker(apiKeys: readonly string[]): ((authorization: string | undefined) => void) | undefined {
  if (apiKeys.length === 0) return undefined;
  const digests = apiKeys.map((k) => createHash('sha256').update(k).digest());
  return (authorization) => {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!m) throw new HttpError(401, 'UNAUTHORIZED', 'missing "Authorization: Bearer <api key>" header');
    const d = createHash('sha256').update(m[1]!.trim()).digest();
    if (!digests.some((k) => timingSafeEqual(k, d))) throw new HttpError(401, 'UNAUTHORIZED', 'the API key is not valid');
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
export function requireApiKeys(app: FastifyInstance, apiKeys: readonly string[]): void {
  const checkKey = bearerChecker(apiKeys);
  if (!checkKey) return;
  app.addHook('onRequest', async (req) => {
    // No route matched: the 404 says only that, and the documented route list is no secret.
    if (req.is404 || req.routeOptions.config.public === true || req.routeOptions.config.authenticatedBy !== undefined) return;
    checkKey(req.headers.authorization);
  });
}
