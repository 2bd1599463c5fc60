import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A tenant API key is `ask_<id>_<secret>`: the id (public, 12 hex) finds the
 * stored record without scanning; the secret (32 random bytes, base64url) is
 * checked against its SHA-256 in constant time. A fast hash suffices because
 * the secret is random and 256 bits long: there is no dictionary to try.
 */
const KEY_PATTERN = /^ask_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  id: string;
  /** The whole key, shown once to its creator. */
  key: string;
  secretHash: Buffer;
}

export function newApiKey(): NewKey {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `ask_${id}_${secret}`, secretHash: hashSecret(secret) };
}

/** The id and secret of a presented key, or undefined when it is not in the tenant key format. */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const m = KEY_PATTERN.exec(key);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function secretMatches(secret: string, hash: Buffer): boolean {
  const d = hashSecret(secret);
  return d.length === hash.length && timingSafeEqual(d, hash);
}
