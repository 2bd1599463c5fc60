import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './http-error.js';

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
